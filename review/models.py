from publishing.models import Post


class PostReview(Post):
    """The review queue's view of posts; the post itself (publishing) owns its status."""

    class Meta:
        proxy = True
        verbose_name = "post awaiting review"
        verbose_name_plural = "posts to review"
