"""The DAG's on_failure_callback: one SNS message per failed run, through the provider's SnsHook."""

from __future__ import annotations

import logging
from typing import Any

log = logging.getLogger(__name__)


class _VariableValues:
    """`var.value.NAME` for templates rendered outside a task (DAG callbacks get a reduced context)."""

    def __getattr__(self, name: str) -> str:
        from airflow.sdk import Variable

        return Variable.get(name)

    def get(self, name: str, default: Any = None) -> Any:
        from airflow.sdk import Variable

        return Variable.get(name, default)


class _Var:
    value = _VariableValues()


class FailureAlert:
    """Publish the failed run's DAG, run id, failing task and reason to the SNS topic."""

    def __init__(self, topic_arn: str, aws_conn_id: str | None):
        self.topic_arn = topic_arn  # a template: {{ var.value.NAME }} or a literal ARN
        self.aws_conn_id = aws_conn_id
        self.__name__ = "FailureAlert"  # Airflow logs callbacks by name

    def message(self, context: dict[str, Any]) -> tuple[str, str]:
        dag_id = getattr(context.get("dag"), "dag_id", "?")
        ti = context.get("ti")
        task = f", task {ti.task_id}" if ti is not None else ""
        subject = f"Airflow: {dag_id} failed"[:100]
        body = (
            f"DAG {dag_id}, run {context.get('run_id', '?')}{task} failed "
            f"(reason: {context.get('reason', 'task failure')}). The EMR cluster is terminated by the run's "
            "teardown task; check the task logs in the Airflow UI."
        )
        return subject, body

    def __call__(self, context: dict[str, Any]) -> None:
        import jinja2
        from airflow.providers.amazon.aws.hooks.sns import SnsHook

        topic = jinja2.Environment(undefined=jinja2.StrictUndefined).from_string(self.topic_arn)
        target = topic.render(var=_Var())
        subject, body = self.message(context)
        SnsHook(aws_conn_id=self.aws_conn_id).publish_to_target(
            target_arn=target, message=body, subject=subject
        )
        log.info("published the failure of run %s to %s", context.get("run_id"), target)
