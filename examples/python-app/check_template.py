"""Checks the stack that examples/python-app and examples/java-app synthesize.

Both apps build the same stack: a KxEventsPipeline with batch size 50, a 10-second batching
window, 14 days of backups and its events in Aurora PostgreSQL Serverless v2 (0.5 to 4 ACUs), and
one producer function. This reads
the cloud assembly they wrote and checks the template, with the standard library only.

Usage: python check_template.py CLOUD_ASSEMBLY_DIR STACK_NAME
"""
import json
import sys
from pathlib import Path


class TemplateCheck:
    """The template of one stack, and the problems found in it."""

    def __init__(self, assembly: Path, stack_name: str) -> None:
        self.assembly = assembly
        path = assembly / f"{stack_name}.template.json"
        if not path.is_file():
            found = sorted(p.name for p in assembly.glob("*.template.json"))
            raise SystemExit(f"no template {path.name} in {assembly}; templates there: {found}")
        self.resources: dict = json.loads(path.read_text())["Resources"]
        self.assets: dict = json.loads((assembly / f"{stack_name}.assets.json").read_text())["files"]
        self.problems: list[str] = []
        self.passed: list[str] = []

    def expect(self, what: str, actual, expected) -> None:
        if actual == expected:
            self.passed.append(f"{what} = {json.dumps(expected)}")
        else:
            self.problems.append(f"{what}: expected {json.dumps(expected)}, got {json.dumps(actual)}")

    def expect_true(self, what: str, condition: bool, got) -> None:
        if condition:
            self.passed.append(what)
        else:
            self.problems.append(f"{what}: got {json.dumps(got)}")

    def one(self, resource_type: str, where=lambda props: True) -> tuple[str, dict]:
        """The one resource of this type that matches; a problem (and an empty one) otherwise."""
        matches = [
            (logical_id, resource.get("Properties", {}))
            for logical_id, resource in self.resources.items()
            if resource["Type"] == resource_type and where(resource.get("Properties", {}))
        ]
        if len(matches) != 1:
            self.problems.append(f"expected exactly one matching {resource_type}, found {[m[0] for m in matches]}")
            return "", {}
        return matches[0]


def check(assembly: Path, stack_name: str) -> TemplateCheck:
    t = TemplateCheck(assembly, stack_name)

    cluster_id, cluster = t.one("AWS::RDS::DBCluster")
    t.expect("cluster Engine", cluster.get("Engine"), "aurora-postgresql")
    t.expect("cluster EngineVersion (the major: RDS picks the minor)", cluster.get("EngineVersion"), "16")
    t.expect("cluster ServerlessV2ScalingConfiguration", cluster.get("ServerlessV2ScalingConfiguration"), {"MinCapacity": 0.5, "MaxCapacity": 4})
    t.expect("cluster StorageEncrypted", cluster.get("StorageEncrypted"), True)
    t.expect("cluster BackupRetentionPeriod (days)", cluster.get("BackupRetentionPeriod"), 14)
    _, writer = t.one("AWS::RDS::DBInstance")
    t.expect("writer DBInstanceClass", writer.get("DBInstanceClass"), "db.serverless")
    t.expect("writer DBClusterIdentifier", writer.get("DBClusterIdentifier"), {"Ref": cluster_id})

    queue_id, queue = t.one("AWS::SQS::Queue", lambda props: "RedrivePolicy" in props)
    redrive = queue.get("RedrivePolicy", {})
    t.expect("queue RedrivePolicy maxReceiveCount", redrive.get("maxReceiveCount"), 3)
    dead_letter_arn = redrive.get("deadLetterTargetArn", {}).get("Fn::GetAtt", [""])
    t.expect_true(
        "queue redrives to another queue of the stack",
        t.resources.get(dead_letter_arn[0], {}).get("Type") == "AWS::SQS::Queue" and dead_letter_arn[0] != queue_id,
        redrive.get("deadLetterTargetArn"),
    )

    _, mapping = t.one("AWS::Lambda::EventSourceMapping")
    t.expect("event source EventSourceArn", mapping.get("EventSourceArn"), {"Fn::GetAtt": [queue_id, "Arn"]})
    t.expect("event source FunctionResponseTypes", mapping.get("FunctionResponseTypes"), ["ReportBatchItemFailures"])
    t.expect("event source BatchSize", mapping.get("BatchSize"), 50)
    t.expect("event source MaximumBatchingWindowInSeconds", mapping.get("MaximumBatchingWindowInSeconds"), 10)

    consumer_id = mapping.get("FunctionName", {}).get("Ref", "")
    consumer = t.resources.get(consumer_id, {}).get("Properties", {})
    t.expect("consumer Runtime", consumer.get("Runtime"), "nodejs24.x")
    # The consumer is the bundle shipped inside the package: its asset must be in the assembly.
    asset_hash = str(consumer.get("Code", {}).get("S3Key", "")).removesuffix(".zip")
    asset = t.assets.get(asset_hash, {}).get("source", {})
    bundle = t.assembly / asset.get("path", "(no asset)") / "index.js"
    t.expect_true(
        f"consumer bundle {bundle.relative_to(t.assembly)} is in the assembly",
        asset.get("packaging") == "zip" and bundle.is_file() and bundle.stat().st_size > 0,
        asset,
    )

    queue_url = {"Ref": queue_id}
    producer_id, producer = t.one(
        "AWS::Lambda::Function",
        lambda props: props.get("Environment", {}).get("Variables", {}).get("EVENTS_QUEUE_URL") == queue_url,
    )
    t.expect("producer Runtime", producer.get("Runtime"), "nodejs24.x")
    role = producer.get("Role", {}).get("Fn::GetAtt", [""])[0]
    statements = [
        statement
        for _, resource in t.resources.items()
        if resource["Type"] == "AWS::IAM::Policy" and {"Ref": role} in resource["Properties"].get("Roles", [])
        for statement in resource["Properties"]["PolicyDocument"]["Statement"]
    ]
    sends = [
        s for s in statements
        if "sqs:SendMessage" in s.get("Action", []) and s.get("Resource") == {"Fn::GetAtt": [queue_id, "Arn"]}
    ]
    t.expect_true(f"producer {producer_id} may sqs:SendMessage to the queue", len(sends) == 1, statements)
    return t


def main(argv: list[str]) -> int:
    if len(argv) != 3:
        print(__doc__.strip().splitlines()[-1], file=sys.stderr)
        return 2
    result = check(Path(argv[1]), argv[2])
    for line in result.passed:
        print(f"ok    {line}")
    for line in result.problems:
        print(f"FAIL  {line}")
    print(f"{len(result.passed)} passed, {len(result.problems)} failed: {argv[2]} in {argv[1]}")
    return 1 if result.problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
