# One current (not undone, not superseded) decision per reviewer per item;
# adjudications are the admins' and are not counted here.

from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('review', '0007_supersede_duplicate_decisions'),
    ]

    operations = [
        migrations.AddConstraint(
            model_name='review',
            constraint=models.UniqueConstraint(condition=models.Q(('superseded_at__isnull', True), ('undone_at__isnull', True), ('is_adjudication', False)), fields=('item', 'reviewer'), name='review_one_current_per_reviewer'),
        ),
    ]
