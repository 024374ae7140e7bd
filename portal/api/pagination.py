from __future__ import annotations

from django.conf import settings
from rest_framework.pagination import PageNumberPagination


class Pagination(PageNumberPagination):
    """``?page=2&page_size=100``: ``API_PAGE_SIZE`` rows a page unless asked, at most ``API_MAX_PAGE_SIZE``."""

    page_size_query_param = "page_size"
    page_size_query_description = "Rows per page (at most 500)."

    @property
    def page_size(self):
        return settings.API_PAGE_SIZE

    @property
    def max_page_size(self):
        return settings.API_MAX_PAGE_SIZE
