package io.kxevents.examples;

import io.kxevents.cdk.AuroraServerlessV2Options;
import io.kxevents.cdk.EventsDatabase;
import io.kxevents.cdk.KxEventsPipeline;
import software.amazon.awscdk.App;
import software.amazon.awscdk.Duration;
import software.amazon.awscdk.Stack;
import software.amazon.awscdk.services.lambda.Code;
import software.amazon.awscdk.services.lambda.Function;
import software.amazon.awscdk.services.lambda.Runtime;
import software.constructs.Construct;

/** A Java CDK app with one KxEventsPipeline and one producer function. */
public final class EventsApp {
    private EventsApp() {
    }

    public static void main(final String[] args) {
        App app = new App();
        new EventsStack(app, "KxEventsJavaExample");
        app.synth();
    }

    /** The pipeline, and a sign-up function that sends it events. */
    static final class EventsStack extends Stack {
        EventsStack(final Construct scope, final String id) {
            super(scope, id);

            KxEventsPipeline pipeline = KxEventsPipeline.Builder.create(this, "Events")
                    // Batches above 10 need a batching window.
                    .batchSize(50)
                    .maxBatchingWindow(Duration.seconds(10))
                    .backupRetention(Duration.days(14))
                    // The events in Aurora PostgreSQL Serverless v2, from 0.5 to 4 ACUs.
                    .database(EventsDatabase.auroraServerlessV2(AuroraServerlessV2Options.builder()
                            .minCapacity(0.5)
                            .maxCapacity(4)
                            .build()))
                    .build();

            // In a real app the handler uses kx-events-decorators (npm), bundled with its code.
            Function signup = Function.Builder.create(this, "Signup")
                    .runtime(Runtime.NODEJS_24_X)
                    .handler("index.handler")
                    .code(Code.fromInline("exports.handler = async () => ({ queue: process.env.EVENTS_QUEUE_URL });"))
                    .build();
            // Grants it sending to the queue (and the key), and sets its EVENTS_QUEUE_URL.
            pipeline.addProducer(signup);
        }
    }
}
