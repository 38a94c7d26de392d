from django.urls import path

from . import views_companies, views_search

app_name = "customers"

urlpatterns: list = [
    path("search/", views_search.search_page, name="search"),
    path("companies/", views_companies.company_list, name="companies"),
    path("companies/<int:account_id>/", views_companies.company_detail, name="company"),
]
