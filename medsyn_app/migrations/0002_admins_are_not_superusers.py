"""MedSyn admins made by the app were Django superusers; they become plain staff
in the admin group (whose model permissions `roles.sync_role_permissions` sets
after every migrate). Superusers outside the admin group (operators made with
`createsuperuser`) keep their flag."""

from django.db import migrations


def clear_superuser(apps, schema_editor):
    user_model = apps.get_model("auth", "User")
    user_model.objects.filter(groups__name="admin", is_superuser=True).update(
        is_superuser=False, is_staff=True
    )


class Migration(migrations.Migration):
    dependencies = [
        ("medsyn_app", "0001_role_groups"),
        ("auth", "0012_alter_user_first_name_max_length"),
    ]

    operations = [migrations.RunPython(clear_superuser, migrations.RunPython.noop)]
