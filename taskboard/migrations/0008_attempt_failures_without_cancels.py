"""The failure index leaves cancelled attempts out, as the failure groups do.

``attempt_failures`` now has exactly the condition of ``readmodels.failures.FAILED_ATTEMPT``
(not succeeded and not cancelled: an operator's cancel is not a failure), so the failure
group queries are answered from the index alone again.
"""

from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('taskboard', '0007_run_backend_token_expiry'),
    ]

    operations = [
        migrations.RemoveIndex(
            model_name='taskattempt',
            name='attempt_failures',
        ),
        migrations.AddIndex(
            model_name='taskattempt',
            index=models.Index(condition=models.Q(models.Q(('outcome', 'succeeded'), _negated=True), models.Q(('outcome', 'cancelled'), _negated=True)), fields=['finished_at', 'fingerprint'], name='attempt_failures'),
        ),
    ]
