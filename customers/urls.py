from django.urls import path

from . import views_companies, views_duplicates, views_merge, views_search

app_name = "customers"

urlpatterns: list = [
    path("duplicates/", views_duplicates.duplicate_list, name="duplicates"),
    path("duplicates/dismiss/", views_duplicates.dismiss, name="duplicates_dismiss"),
    path("duplicates/hint/<int:lead_id>/", views_duplicates.duplicate_hint, name="duplicate_hint"),
    path("merge/", views_merge.merge_plan, name="merge_plan"),
    path("merges/", views_merge.merge_list, name="merge_list"),
    path("merges/<int:merge_id>/", views_merge.merge_detail, name="merge_detail"),
    path("merges/<int:merge_id>/undo/", views_merge.merge_undo, name="merge_undo"),
    path("merges/hint/<int:lead_id>/", views_merge.merge_hint, name="merge_hint"),
    path("search/", views_search.search_page, name="search"),
    path("companies/", views_companies.company_list, name="companies"),
    path("companies/<int:account_id>/", views_companies.company_detail, name="company"),
]
