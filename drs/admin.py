from django.contrib import admin

from accounts.admin import VisibleRowsAdminMixin
from drs.models import BundleMember, DrsObject


class BundleMemberInline(admin.TabularInline):
    model = BundleMember
    fk_name = "bundle"
    extra = 0
    raw_id_fields = ["child"]


@admin.register(DrsObject)
class DrsObjectAdmin(VisibleRowsAdminMixin, admin.ModelAdmin):
    list_display = ["id", "name", "is_bundle", "size", "is_private", "webin_submitter", "storage_root", "updated_time"]
    list_filter = ["is_bundle", "is_private", "storage_root"]
    search_fields = ["id", "name", "aliases", "sha256", "md5", "relative_path"]
    readonly_fields = ["id", "sha256", "md5", "size", "created_time"]
    inlines = [BundleMemberInline]
