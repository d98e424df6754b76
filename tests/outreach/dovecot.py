"""A real IMAP server for tests: Dovecot in user space on a loopback port, maildir in a temp dir.

Debian's dovecot-imapd is installed by scripts/test when it runs as root; without the binary the
IMAP tests skip with a message. Dovecot refuses to run mail as uid 0, so as root the mail user is
``dovecot``; otherwise it is the current user.
"""

from __future__ import annotations

import getpass
import grp
import imaplib
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

USER, PASSWORD = "sam@brand.example", "secret-pw"


@dataclass
class Dovecot:
    port: int
    root: Path
    config: Path

    def client(self, password: str = PASSWORD) -> imaplib.IMAP4:
        conn = imaplib.IMAP4("127.0.0.1", self.port, timeout=10)
        conn.login(USER, password)
        return conn

    def _command(self, name: str, *args) -> None:
        conn = self.client()
        try:
            typ, data = getattr(conn, name)(*args)
            assert typ == "OK", data
        finally:
            conn.logout()

    def create(self, folder: str) -> None:
        self._command("create", folder)

    def delete(self, folder: str) -> None:
        self._command("delete", folder)

    def append(self, folder: str, raw: bytes) -> None:
        self._command("append", folder, None, None, raw)

    def stop(self) -> None:
        subprocess.run(["doveadm", "-c", str(self.config), "stop"], capture_output=True, timeout=10)
        shutil.rmtree(self.root, ignore_errors=True)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def dovecot_start() -> Dovecot:
    binary = shutil.which("dovecot") or ("/usr/sbin/dovecot" if os.path.exists("/usr/sbin/dovecot") else None)
    if binary is None:
        raise FileNotFoundError("dovecot is not installed (apt-get install dovecot-imapd): IMAP tests skipped")
    # Not pytest's tmp_path: the mail user (dovecot) must be able to traverse every parent directory.
    root = Path(tempfile.mkdtemp(prefix="dovecot-"))
    root.chmod(0o755)
    if os.geteuid() == 0:
        mail_user = internal_user = "dovecot"
        login_user = "dovenull"
    else:
        mail_user = internal_user = login_user = getpass.getuser()
    home = root / "home"
    home.mkdir()
    pw = pwd.getpwnam(mail_user)
    os.chown(home, pw.pw_uid, grp.getgrgid(pw.pw_gid).gr_gid)
    (root / "passwd").write_text(f"{USER}:{{PLAIN}}{PASSWORD}\n")
    port = _free_port()
    config = root / "dovecot.conf"
    config.write_text(f"""
base_dir = {root}/run
state_dir = {root}/state
log_path = {root}/dovecot.log
protocols = imap
listen = 127.0.0.1
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain login
# Tests log in with wrong passwords on purpose: no 2 s penalty (it would read as a timeout).
auth_failure_delay = 0
first_valid_uid = {min(pw.pw_uid, 1)}
default_internal_user = {internal_user}
default_login_user = {login_user}
passdb {{
  driver = passwd-file
  args = {root}/passwd
}}
userdb {{
  driver = static
  args = uid={pw.pw_uid} gid={pw.pw_gid} home={home}/%u
}}
mail_location = maildir:~/Maildir
service imap-login {{
  chroot =
  inet_listener imap {{
    address = 127.0.0.1
    port = {port}
  }}
  inet_listener imaps {{
    port = 0
  }}
}}
service anvil {{
  chroot =
}}
""")
    # Dovecot daemonizes; its children inherit stdout/stderr, so a pipe here would never close.
    subprocess.run([binary, "-c", str(config)], check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                   timeout=20)  # fmt: skip
    server = Dovecot(port=port, root=root, config=config)
    deadline = time.monotonic() + 15
    while True:
        try:
            server.client().logout()
            return server
        except OSError:
            if time.monotonic() > deadline:
                log = (root / "dovecot.log").read_text() if (root / "dovecot.log").exists() else ""
                server.stop()
                raise RuntimeError(f"dovecot did not answer on port {port}: {log[-2000:]}") from None
            time.sleep(0.1)
