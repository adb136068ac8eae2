"""URL patterns; see the module docstring of the views they route to."""

urlpatterns: list = []
