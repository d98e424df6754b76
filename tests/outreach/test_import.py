from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from campaigns.models import AuditEntry
from outreach.models import Lead
from outreach.services import suppression_add

pytestmark = pytest.mark.django_db

CSV = """E-mail,Full name,Company,Phone,Tags,TZ
ada@example.com,Ada Lovelace,Engines,+44 20 7946 0000,vip;uk,Europe/London
grace@example.org,Grace Hopper,Compilers,,,
ADA@example.com,Ada again,Engines,,,
not-an-email,Nobody,,,,
,No identity,Acme,,,
bob@example.net,Bob,Acme,12,,
carol@example.net,Carol,Acme,,,Mars/Olympus
"""


def _run(path, *args):
    out, err = StringIO(), StringIO()
    call_command("import_leads", str(path), *args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def test_import_reports_each_row_and_reimport_changes_nothing(tmp_path, running_campaign):
    path = tmp_path / "leads.csv"
    path.write_text(CSV)
    out, err = _run(path, "--campaign", str(running_campaign.pk))
    assert "7 rows: 2 created, 0 updated, 1 duplicate, 4 invalid" in out
    assert "line 5: email: 'not-an-email' is not an email address" in out
    assert "line 6: email: a lead needs an email" in out
    assert "line 7: phone:" in out
    assert "line 8: timezone: 'Mars/Olympus'" in out
    assert "rows" in err  # progress on stderr
    ada = Lead.objects.get(email="ada@example.com")
    assert (ada.name, ada.phone, ada.tags, ada.timezone, ada.campaign_id, ada.source_channel) == (
        "Ada Lovelace",
        "+442079460000",
        ["uk", "vip"],
        "Europe/London",
        running_campaign.pk,
        "csv",
    )
    snapshot = list(Lead.objects.order_by("pk").values())
    out, _ = _run(path, "--campaign", str(running_campaign.pk))
    assert "0 created, 0 updated, 3 duplicate, 4 invalid" in out
    assert list(Lead.objects.order_by("pk").values()) == snapshot
    assert AuditEntry.objects.filter(action="leads:import").count() == 2


def test_changed_values_update_the_existing_lead(tmp_path, running_campaign):
    path = tmp_path / "a.csv"
    path.write_text("email,company\nada@example.com,Engines\n")
    _run(path, "--campaign", str(running_campaign.pk))
    path.write_text("email,company\nada@example.com,Difference Engines\n")
    out, _ = _run(path, "--campaign", str(running_campaign.pk))
    assert "0 created, 1 updated" in out
    assert Lead.objects.get().company == "Difference Engines"


def test_column_mapping_and_bad_mapping(tmp_path, running_campaign):
    path = tmp_path / "m.csv"
    path.write_text("Work address,Who\nada@example.com,Ada\n")
    with pytest.raises(CommandError, match="no column maps to email"):
        _run(path, "--campaign", str(running_campaign.pk))
    with pytest.raises(CommandError, match=r"mapping\.Who"):
        _run(path, "--campaign", str(running_campaign.pk), "--map", "Work address=email", "--map", "Who=nickname")
    assert not Lead.objects.exists()
    _run(path, "--campaign", str(running_campaign.pk), "--map", "Work address=email", "--map", "Who=name")
    assert Lead.objects.get().name == "Ada"


def test_suppressed_people_are_not_imported(tmp_path, running_campaign):
    suppression_add(kind="domain", value="blocked.example", reason="dnc_import", actor="t")
    path = tmp_path / "s.csv"
    path.write_text("email\nx@blocked.example\nok@example.com\n")
    out, _ = _run(path, "--campaign", str(running_campaign.pk))
    assert "line 2: suppressed (domain: dnc_import)" in out
    assert list(Lead.objects.values_list("email", flat=True)) == ["ok@example.com"]


def test_bad_file_or_campaign_is_a_clear_error_and_writes_nothing(tmp_path, running_campaign):
    path = tmp_path / "x.csv"
    path.write_text("email\na@example.com\n")
    with pytest.raises(CommandError, match="--campaign: no campaign"):
        _run(path, "--campaign", "999999")
    with pytest.raises(CommandError, match="does not exist"):
        _run(tmp_path / "nope.csv", "--campaign", str(running_campaign.pk))
    binary = tmp_path / "bin.csv"
    binary.write_bytes(b"email\nok@example.com\n\xff\xfe\x00bad\n")
    with pytest.raises(CommandError, match="line 3 is not utf-8"):
        _run(binary, "--campaign", str(running_campaign.pk))
    empty = tmp_path / "empty.csv"
    empty.write_text("")
    with pytest.raises(CommandError, match="empty"):
        _run(empty, "--campaign", str(running_campaign.pk))
    assert not Lead.objects.exists()


SAME = """email,name,company,tags,score,tz
ada@example.com,Ada,Engines,vip;uk,5,Europe/London
ADA@example.com ,Ada again,Engines,,,
grace@example.org,Grace,Compilers,,x,
bad@,Nobody,,,,
,Empty,Acme,,,
carol@blocked.example,Carol,,,,
dan@example.net,Dan,Acme,,,Mars/Olympus
erin@example.net,Erin,{long},,,

frank@example.net,Frank,Acme,,,
""".replace("{long}", "x" * 250)


@pytest.mark.parametrize("second", ["email,name,company\nada@example.com,Ada,Difference Engines\n"])
def test_sql_and_row_engines_give_the_same_report_and_rows(tmp_path, running_campaign, second):
    from outreach.importing import leads_import

    suppression_add(kind="domain", value="blocked.example", reason="manual", actor="t")
    results = {}
    for engine in ("python", "sql"):
        Lead.objects.all().delete()
        path = tmp_path / f"{engine}.csv"
        path.write_text(SAME)
        runs = []
        for text in (SAME, SAME, second):
            path.write_text(text)
            with path.open(newline="") as stream:
                report = leads_import(stream=stream, campaign=running_campaign, actor="t", engine=engine)
            runs.append((report.rows, report.created, report.updated, report.duplicate, report.invalid))
        rows = list(Lead.objects.order_by("email").values_list("email", "name", "company", "tags", "score", "timezone"))
        results[engine] = (runs, rows)
    assert results["python"] == results["sql"]
    runs, rows = results["sql"]
    assert runs[0][:4] == (9, 2, 0, 1)
    assert runs[1][:4] == (9, 0, 0, 3)  # re-import: nothing changes
    assert runs[2][:4] == (1, 0, 1, 0)
    assert [line for line, _ in runs[0][4]] == [4, 5, 6, 7, 8, 9]
    assert rows[0] == ("ada@example.com", "Ada", "Difference Engines", ["uk", "vip"], 5, "Europe/London")


def test_sql_engine_refuses_a_malformed_file_naming_the_line(tmp_path, running_campaign):
    from django.core.exceptions import ValidationError

    from outreach.importing import leads_import

    path = tmp_path / "bad.csv"
    path.write_text('email,name\nok@example.com,Ok\n"unterminated,x\n')
    with path.open(newline="") as stream, pytest.raises(ValidationError) as exc:
        leads_import(stream=stream, campaign=running_campaign, actor="t", engine="sql")
    assert "line" in str(exc.value)
    assert not Lead.objects.exists()


EDGE_EMAILS = [
    "a@b.co", "a@b", "a@-b.com", "a@b-.com", "a@b-c.com", "a@b.-c", "a@b..com", "a@.b.com", "a b@c.com",
    "a@@b.com", "a@b_c.com", f"a@{'x' * 63}.com", f"a@{'x' * 64}.com", f"a@b.{'y' * 63}", f"a@b.{'y' * 64}",
    f"a@{'x' * 40}.{'y' * 40}.com", "ünï@b.com", "a@b.com.", "a@1.2",
]  # fmt: skip


def test_sql_engine_validates_emails_exactly_like_the_row_engine(tmp_path, running_campaign):
    """The SQL path splits the email rule into a plain regex and string tests (speed): both must agree."""
    from outreach.importing import EMAIL_RE, leads_import

    path = tmp_path / "edge.csv"
    path.write_text("email\n" + "\n".join(EDGE_EMAILS) + "\n")
    invalid = {}
    for engine in ("python", "sql"):
        Lead.objects.all().delete()
        with path.open(newline="") as stream:
            report = leads_import(stream=stream, campaign=running_campaign, actor="t", engine=engine)
        invalid[engine] = {line for line, _ in report.invalid}
    expected = {line for line, email in enumerate(EDGE_EMAILS, start=2) if not EMAIL_RE.match(email)}
    assert invalid["sql"] == invalid["python"] == expected
    assert 0 < len(expected) < len(EDGE_EMAILS)


def test_both_engines_refuse_a_score_outside_the_integer_rule_naming_it(tmp_path, running_campaign):
    """A score PostgreSQL's integer cannot hold, or one only Python's int() reads, is a row error in
    both engines, never a crashed import."""
    from outreach.importing import leads_import

    path = tmp_path / "scores.csv"
    path.write_text("email,score\na@example.com,99999999999\nb@example.com,٣\nc@example.com,1_000\n"
                    "d@example.com,-999999999\n")  # fmt: skip
    for engine in ("python", "sql"):
        Lead.objects.all().delete()
        with path.open(newline="") as stream:
            report = leads_import(stream=stream, campaign=running_campaign, actor="t", engine=engine)
        assert [line for line, _ in report.invalid] == [2, 3, 4], engine
        assert all("score:" in reason and "at most 9 digits" in reason for _, reason in report.invalid)
        assert list(Lead.objects.values_list("score", flat=True)) == [-999999999]


def test_row_engine_refuses_a_nul_character_as_a_row_error(tmp_path, running_campaign):
    from outreach.importing import leads_import

    path = tmp_path / "nul.csv"
    path.write_text("email,name,phone\na@example.com,Ad\x00a,\nb@example.com,Bob,\n")  # phone: the row engine
    with path.open(newline="") as stream:
        report = leads_import(stream=stream, campaign=running_campaign, actor="t")
    assert report.invalid == [(2, "name: contains a NUL character")]
    assert list(Lead.objects.values_list("email", flat=True)) == ["b@example.com"]


def test_an_email_over_the_column_length_is_a_row_error_in_both_engines(tmp_path, running_campaign):
    from outreach.importing import leads_import

    path = tmp_path / "long.csv"
    path.write_text("email\n" + "x" * 300 + "@example.com\nok@example.com\n")
    for engine in ("python", "sql"):
        Lead.objects.all().delete()
        with path.open(newline="") as stream:
            report = leads_import(stream=stream, campaign=running_campaign, actor="t", engine=engine)
        assert report.invalid == [(2, "email: longer than 254 characters")], engine
        assert report.created == 1


def test_a_file_ending_inside_a_character_is_refused_before_anything_is_written(tmp_path, running_campaign):
    path = tmp_path / "cut.csv"
    path.write_bytes(b"email,phone\na@example.com,\nb@example.com,\nc\xc3")
    with pytest.raises(CommandError, match="line 4 is not utf-8"):
        _run(path, "--campaign", str(running_campaign.pk))
    assert not Lead.objects.exists()


def test_an_unwritable_report_path_is_refused_before_the_import(tmp_path, running_campaign):
    path = tmp_path / "ok.csv"
    path.write_text("email\na@example.com\n")
    with pytest.raises(CommandError, match="--report"):
        _run(path, "--campaign", str(running_campaign.pk), "--report", str(tmp_path / "missing" / "r.csv"))
    assert not Lead.objects.exists()
