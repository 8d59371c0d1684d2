"""A Python CDK app with one KxEventsPipeline and one producer function.

Synthesize it without the CDK CLI or an AWS account:

    CDK_OUTDIR=cdk.out python app.py

or with the CLI (`cdk.json` beside this file): `npx cdk synth`.
"""
import aws_cdk as cdk
from aws_cdk import aws_lambda as lambda_
from constructs import Construct

from kx_events_cdk import EventsDatabase, KxEventsPipeline


class EventsStack(cdk.Stack):
    """The pipeline, and a sign-up function that sends it events."""

    def __init__(self, scope: Construct, construct_id: str, **kwargs) -> None:
        super().__init__(scope, construct_id, **kwargs)

        pipeline = KxEventsPipeline(
            self,
            "Events",
            # Batches above 10 need a batching window.
            batch_size=50,
            max_batching_window=cdk.Duration.seconds(10),
            backup_retention=cdk.Duration.days(14),
            # The events in Aurora PostgreSQL Serverless v2, from 0.5 to 4 ACUs.
            database=EventsDatabase.aurora_serverless_v2(min_capacity=0.5, max_capacity=4),
        )

        # In a real app the handler uses kx-events-decorators (npm), bundled with its code.
        signup = lambda_.Function(
            self,
            "Signup",
            runtime=lambda_.Runtime.NODEJS_24_X,
            handler="index.handler",
            code=lambda_.Code.from_inline(
                "exports.handler = async () => ({ queue: process.env.EVENTS_QUEUE_URL });"
            ),
        )
        # Grants it sending to the queue (and the key), and sets its EVENTS_QUEUE_URL.
        pipeline.add_producer(signup)


app = cdk.App()
EventsStack(app, "KxEventsPythonExample")
app.synth()
