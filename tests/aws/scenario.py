#!/usr/bin/env python3
"""Build an AWS ALB scenario in a running moto_server and print its ARNs as JSON.

Used by the end-to-end tests (tests/tests/aws_moto.rs) and `make bench`. Writes only to the moto
endpoint it is given; credentials are moto's dummy `testing` pair.

    scenario.py ENDPOINT SCENARIO [--count N] [--per-alb K]

Scenarios:
  incident   two running instances, one stopped; ALB with a host/path rule; access logs in S3 and
             CloudWatch Logs showing a keep-alive race, a connect failure and a target-made 502;
             CloudWatch metrics for the 502s
  sg-blocked as incident without logs, but the targets' security group does not admit the ALB
  shared     one ALB serving svc-a and svc-b; only svc-b's targets fail; access, connection and
             health-check logs under one S3 prefix
  nlb        a Network Load Balancer with a TCP target group (out of scope)
  unattached a target group with two running instances and no load balancer
  long-idle  as incident without logs, with an idle timeout of 4000 s
  hc-port    as incident without logs, health checks on port 9000, which the targets' group blocks
  empty      a target group with no targets behind an ALB
  many       --count target groups with two IP targets each behind one ALB (benchmarks)
  fleet      --count target groups with two IP targets each, spread over ceil(count/25) ALBs, each
             forwarded by a path rule on its ALB's listener (scripts/bench_audit.sh: 100 groups on
             4 ALBs)
"""
import datetime
import gzip
import io
import json
import sys

import boto3

REGION = "us-east-1"


def clients(endpoint):
    kw = dict(
        endpoint_url=endpoint,
        region_name=REGION,
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
    )
    return {name: boto3.client(name, **kw) for name in ("ec2", "elbv2", "s3", "logs", "cloudwatch")}


def network(ec2, admit_alb=True):
    vpc = ec2.create_vpc(CidrBlock="10.0.0.0/16")["Vpc"]["VpcId"]
    subnets = [
        ec2.create_subnet(VpcId=vpc, CidrBlock=f"10.0.{i}.0/24", AvailabilityZone=f"{REGION}{az}")["Subnet"]["SubnetId"]
        for i, az in ((0, "a"), (1, "b"))
    ]
    lb_sg = ec2.create_security_group(GroupName="alb", Description="alb", VpcId=vpc)["GroupId"]
    ec2.authorize_security_group_ingress(
        GroupId=lb_sg,
        IpPermissions=[{"IpProtocol": "tcp", "FromPort": 80, "ToPort": 80, "IpRanges": [{"CidrIp": "0.0.0.0/0"}]}],
    )
    target_sg = ec2.create_security_group(GroupName="app", Description="app", VpcId=vpc)["GroupId"]
    if admit_alb:
        ec2.authorize_security_group_ingress(
            GroupId=target_sg,
            IpPermissions=[{"IpProtocol": "tcp", "FromPort": 8080, "ToPort": 8080,
                            "UserIdGroupPairs": [{"GroupId": lb_sg}]}],
        )
    else:
        ec2.authorize_security_group_ingress(
            GroupId=target_sg,
            IpPermissions=[{"IpProtocol": "tcp", "FromPort": 22, "ToPort": 22, "IpRanges": [{"CidrIp": "10.9.0.0/16"}]}],
        )
    return vpc, subnets, lb_sg, target_sg


def alb(elbv2, name, subnets, lb_sg):
    lb = elbv2.create_load_balancer(Name=name, Subnets=subnets, SecurityGroups=[lb_sg], Scheme="internet-facing", Type="application")
    return lb["LoadBalancers"][0]["LoadBalancerArn"]


def target_group(elbv2, name, vpc, kind="instance"):
    tg = elbv2.create_target_group(
        Name=name, Protocol="HTTP", Port=8080, VpcId=vpc, TargetType=kind,
        HealthCheckPath="/", HealthCheckIntervalSeconds=30, HealthCheckTimeoutSeconds=5,
        HealthyThresholdCount=5, UnhealthyThresholdCount=2, Matcher={"HttpCode": "200"},
    )
    return tg["TargetGroups"][0]["TargetGroupArn"]


def alb_line(now, lb_id, target, rpt, tpt, rspt, elb, tstatus, reason="-", path="/api/orders", tg_arn=None):
    """A line in the documented field order (ALB user guide, access-log entries); the group
    defaults to one no scenario creates."""
    t = now.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    tg_arn = tg_arn or f"arn:aws:elasticloadbalancing:{REGION}:123456789012:targetgroup/web/0123456789abcdef"
    return (
        f'http {t} {lb_id} 203.0.113.9:51234 {target} {rpt} {tpt} {rspt} {elb} {tstatus} 120 310 '
        f'"GET http://api.example.com:80{path} HTTP/1.1" "curl/8.5.0" - - '
        f'{tg_arn} '
        f'"Root=1-6740-abc" "-" "-" 1 {t} "forward" "-" "{reason}" "{target}" "{tstatus}" "-" "-"'
    )


def log_key(prefix, acct, lb_name_id, when, node_ip, kind=""):
    """An S3 log object key as ELB writes it (KB 1.1); kind "conn_log_" or "health_check_log_"
    for the other logs ELB writes under the same prefix (grafana/lambda-promtail#23)."""
    return (f"{prefix}/AWSLogs/{acct}/elasticloadbalancing/{REGION}/{when:%Y/%m/%d}/"
            f"{kind}{acct}_elasticloadbalancing_{REGION}_{lb_name_id.replace('/', '.')}_"
            f"{when:%Y%m%dT%H%MZ}_{node_ip}_1a2b3c.log.gz")


def incident(c, admit_alb=True, with_logs=True):
    ec2, elbv2 = c["ec2"], c["elbv2"]
    vpc, subnets, lb_sg, target_sg = network(ec2, admit_alb)
    image = ec2.describe_images()["Images"][0]["ImageId"]
    ids = [
        i["InstanceId"]
        for i in ec2.run_instances(ImageId=image, MinCount=3, MaxCount=3, SubnetId=subnets[0],
                                   SecurityGroupIds=[target_sg])["Instances"]
    ]
    lb_arn = alb(elbv2, "web-alb", subnets, lb_sg)
    tg_arn = target_group(elbv2, "web", vpc)
    elbv2.register_targets(TargetGroupArn=tg_arn, Targets=[{"Id": i, "Port": 8080} for i in ids])
    ec2.stop_instances(InstanceIds=[ids[2]])
    listener = elbv2.create_listener(LoadBalancerArn=lb_arn, Protocol="HTTP", Port=80,
                                     DefaultActions=[{"Type": "forward", "TargetGroupArn": tg_arn}])
    elbv2.create_rule(
        ListenerArn=listener["Listeners"][0]["ListenerArn"], Priority=10,
        Conditions=[{"Field": "host-header", "HostHeaderConfig": {"Values": ["api.example.com"]}},
                    {"Field": "path-pattern", "PathPatternConfig": {"Values": ["/api/*"]}}],
        Actions=[{"Type": "forward", "TargetGroupArn": tg_arn}],
    )
    out = {"tg_arn": tg_arn, "lb_arn": lb_arn, "instances": ids, "region": REGION}
    if not with_logs:
        return out
    ips = {
        i["InstanceId"]: i["PrivateIpAddress"]
        for r in ec2.describe_instances(InstanceIds=ids)["Reservations"] for i in r["Instances"]
    }
    a, b = ips[ids[0]], ips[ids[1]]
    now = datetime.datetime.now(datetime.timezone.utc)
    lb_name_id = lb_arn.split(":loadbalancer/")[1]  # app/web-alb/ID
    lb_dim = lb_name_id
    tg_dim = tg_arn.split(":")[-1]
    # S3 access logs: 40 requests; 3 keep-alive races on A, 1 target-made 502 on B.
    c["s3"].create_bucket(Bucket="alb-logs")
    elbv2.modify_load_balancer_attributes(LoadBalancerArn=lb_arn, Attributes=[
        {"Key": "access_logs.s3.enabled", "Value": "true"},
        {"Key": "access_logs.s3.bucket", "Value": "alb-logs"},
        {"Key": "access_logs.s3.prefix", "Value": "prod"},
    ])
    lines = []
    for k in range(36):
        lines.append(alb_line(now - datetime.timedelta(seconds=60 - k), lb_name_id, f"{a}:8080", "0.001", "0.012", "0.000", 200, 200, tg_arn=tg_arn))
    for k in range(3):
        lines.append(alb_line(now - datetime.timedelta(seconds=20 - k), lb_name_id, f"{a}:8080", "0.000", "-1", "-1", 502, "-", tg_arn=tg_arn))
    lines.append(alb_line(now - datetime.timedelta(seconds=10), lb_name_id, f"{b}:8080", "0.001", "0.030", "0.000", 502, 502, tg_arn=tg_arn))
    body = gzip.compress(("\n".join(lines) + "\n").encode())
    acct = lb_arn.split(":")[4]
    end = now.strftime("%Y%m%dT%H%MZ")
    key = (f"prod/AWSLogs/{acct}/elasticloadbalancing/{REGION}/{now:%Y/%m/%d}/"
           f"{acct}_elasticloadbalancing_{REGION}_{lb_name_id.replace('/', '.')}_{end}_10.0.0.5_1a2b3c.log.gz")
    c["s3"].put_object(Bucket="alb-logs", Key=key, Body=body)
    # CloudWatch Logs: the 502s, one as a JSON record.
    logs = c["logs"]
    logs.create_log_group(logGroupName="/alb/web")
    logs.create_log_stream(logGroupName="/alb/web", logStreamName="node-1")
    ms = int(now.timestamp() * 1000)
    events = [{"timestamp": ms - 5000 + i, "message": l} for i, l in enumerate(lines[36:38])]
    events.append({"timestamp": ms - 1000, "message": json.dumps({
        "type": "http", "time": now.strftime("%Y-%m-%dT%H:%M:%S.%fZ"), "elb": lb_name_id,
        "client_port": "203.0.113.9:5000", "target_port": f"{b}:8080",
        "request_processing_time": 0.001, "target_processing_time": 0.02, "response_processing_time": 0.0,
        "elb_status_code": 502, "target_status_code": "502", "request": "GET http://api.example.com:80/api/x HTTP/1.1",
        "target_group_arn": tg_arn, "error_reason": "-"})})
    events.append({"timestamp": ms - 900, "message": alb_line(now, lb_name_id, f"{a}:8080", "0.001", "0.012", "0.000", 200, 200, tg_arn=tg_arn)})
    logs.put_log_events(logGroupName="/alb/web", logStreamName="node-1", logEvents=events)
    # Metrics over the last minutes.
    data = []
    for name, dims, value in (
        ("HTTPCode_ELB_502_Count", [{"Name": "LoadBalancer", "Value": lb_dim}], 3),
        ("HTTPCode_Target_5XX_Count", [{"Name": "TargetGroup", "Value": tg_dim}, {"Name": "LoadBalancer", "Value": lb_dim}], 1),
        ("RequestCount", [{"Name": "TargetGroup", "Value": tg_dim}, {"Name": "LoadBalancer", "Value": lb_dim}], 40),
    ):
        data.append({"MetricName": name, "Dimensions": dims, "Timestamp": now - datetime.timedelta(minutes=2),
                     "Value": value, "Unit": "Count"})
    c["cloudwatch"].put_metric_data(Namespace="AWS/ApplicationELB", MetricData=data)
    out.update({"ips": [a, b], "log_group": "/alb/web", "s3_key": key})
    return out


def shared(c):
    """One ALB serving svc-a (default action) and svc-b (a path rule), two running instances
    each. The access logs under one prefix: svc-a's 30 requests all succeed; svc-b's targets
    refuse connections (8 `502 -` lines with all three times -1). HTTPCode_ELB_502_Count is the
    load balancer's 8. Beside the access log, ELB's connection and health-check logs; their keys
    sort after the access log's, and an older access-log object sorts after the newer one.
    """
    ec2, elbv2, s3 = c["ec2"], c["elbv2"], c["s3"]
    vpc, subnets, lb_sg, target_sg = network(ec2)
    image = ec2.describe_images()["Images"][0]["ImageId"]
    inst = ec2.run_instances(ImageId=image, MinCount=4, MaxCount=4, SubnetId=subnets[0],
                             SecurityGroupIds=[target_sg])["Instances"]
    ids = [i["InstanceId"] for i in inst]
    ips = [i["PrivateIpAddress"] for i in inst]
    lb_arn = alb(elbv2, "shop-alb", subnets, lb_sg)
    tg_a = target_group(elbv2, "svc-a", vpc)
    tg_b = target_group(elbv2, "svc-b", vpc)
    elbv2.register_targets(TargetGroupArn=tg_a, Targets=[{"Id": i, "Port": 8080} for i in ids[:2]])
    elbv2.register_targets(TargetGroupArn=tg_b, Targets=[{"Id": i, "Port": 8080} for i in ids[2:]])
    listener = elbv2.create_listener(LoadBalancerArn=lb_arn, Protocol="HTTP", Port=80,
                                     DefaultActions=[{"Type": "forward", "TargetGroupArn": tg_a}])
    elbv2.create_rule(ListenerArn=listener["Listeners"][0]["ListenerArn"], Priority=10,
                      Conditions=[{"Field": "path-pattern", "PathPatternConfig": {"Values": ["/b/*"]}}],
                      Actions=[{"Type": "forward", "TargetGroupArn": tg_b}])
    s3.create_bucket(Bucket="shop-logs")
    elbv2.modify_load_balancer_attributes(LoadBalancerArn=lb_arn, Attributes=[
        {"Key": "access_logs.s3.enabled", "Value": "true"},
        {"Key": "access_logs.s3.bucket", "Value": "shop-logs"},
        {"Key": "access_logs.s3.prefix", "Value": "shop"},
    ])
    now = datetime.datetime.now(datetime.timezone.utc)
    lb_name_id = lb_arn.split(":loadbalancer/")[1]
    acct = lb_arn.split(":")[4]
    lines = []
    for k in range(30):
        lines.append(alb_line(now - datetime.timedelta(seconds=90 - k), lb_name_id, f"{ips[k % 2]}:8080",
                              "0.001", "0.012", "0.000", 200, 200, path="/", tg_arn=tg_a))
    for k in range(8):
        lines.append(alb_line(now - datetime.timedelta(seconds=40 - k), lb_name_id, f"{ips[2 + k % 2]}:8080",
                              "-1", "-1", "-1", 502, "-", path="/b/cart", tg_arn=tg_b))
    put = lambda key, text: s3.put_object(Bucket="shop-logs", Key=key, Body=gzip.compress(text.encode()))
    # The newest access log, from node 10.0.0.5.
    access = log_key("shop", acct, lb_name_id, now, "10.0.0.5")
    put(access, "\n".join(lines) + "\n")
    # An access log 20 minutes older from node 10.0.1.9: its key sorts after the newer one.
    old = log_key("shop", acct, lb_name_id, now - datetime.timedelta(minutes=20), "10.0.1.9")
    put(old, alb_line(now - datetime.timedelta(minutes=21), lb_name_id, f"{ips[0]}:8080",
                      "0.001", "0.012", "0.000", 200, 200, path="/old", tg_arn=tg_a) + "\n")
    # Connection log (fields as in the ALB user guide's connection-log entries).
    t = now.strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    put(log_key("shop", acct, lb_name_id, now, "10.0.0.5", "conn_log_"),
        f"{t} 203.0.113.9 51234 80 - - - \"-\" - - - TID_1a2b\n" * 50)
    # Health-check log: entries in the field order of the ALB user guide's "Health check logs" page
    # (type time latency target_addr target_group_id status status_code reason_code [elb
    # ip_address]), shaped on its two example entries (a PASS 200 and a FAIL 502 TargetError);
    # svc-b's refused connections written as ConnectionReset, a reason code the page lists. Every
    # 30 s over the last 5 minutes; svc-a's with the two trailing fields, svc-b's without.
    hc = []
    for k in range(10):
        at = (now - datetime.timedelta(seconds=300 - 30 * k)).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
        for ip in ips[:2]:
            hc.append(f"http {at} 0.019584011 {ip}:8080 svc-a PASS 200 - {lb_name_id} 10.0.0.5")
        for ip in ips[2:]:
            hc.append(f"http {at} 0.000512340 {ip}:8080 svc-b FAIL - ConnectionReset")
    put(log_key("shop", acct, lb_name_id, now, "10.0.0.5", "health_check_log_"), "\n".join(hc) + "\n")
    data = [{"MetricName": "HTTPCode_ELB_502_Count", "Dimensions": [{"Name": "LoadBalancer", "Value": lb_name_id}],
             "Timestamp": now - datetime.timedelta(minutes=2), "Value": 8, "Unit": "Count"}]
    c["cloudwatch"].put_metric_data(Namespace="AWS/ApplicationELB", MetricData=data)
    return {"lb_arn": lb_arn, "tg_a": tg_a, "tg_b": tg_b, "ips": ips, "instances": ids,
            "region": REGION, "access_key": access, "old_key": old}


def nlb(c):
    """A Network Load Balancer with a TCP target group of one running instance: out of scope."""
    ec2, elbv2 = c["ec2"], c["elbv2"]
    vpc, subnets, _, target_sg = network(ec2)
    image = ec2.describe_images()["Images"][0]["ImageId"]
    iid = ec2.run_instances(ImageId=image, MinCount=1, MaxCount=1, SubnetId=subnets[0],
                            SecurityGroupIds=[target_sg])["Instances"][0]["InstanceId"]
    lb_arn = elbv2.create_load_balancer(Name="tcp-nlb", Subnets=subnets, Scheme="internal",
                                        Type="network")["LoadBalancers"][0]["LoadBalancerArn"]
    tg_arn = elbv2.create_target_group(Name="tcp-tg", Protocol="TCP", Port=8080, VpcId=vpc,
                                       TargetType="instance")["TargetGroups"][0]["TargetGroupArn"]
    elbv2.register_targets(TargetGroupArn=tg_arn, Targets=[{"Id": iid, "Port": 8080}])
    elbv2.create_listener(LoadBalancerArn=lb_arn, Protocol="TCP", Port=80,
                          DefaultActions=[{"Type": "forward", "TargetGroupArn": tg_arn}])
    return {"lb_arn": lb_arn, "tg_arn": tg_arn, "region": REGION}


def unattached(c):
    """A target group with two running instances that no load balancer uses."""
    ec2, elbv2 = c["ec2"], c["elbv2"]
    vpc, subnets, _, target_sg = network(ec2)
    image = ec2.describe_images()["Images"][0]["ImageId"]
    ids = [i["InstanceId"] for i in ec2.run_instances(ImageId=image, MinCount=2, MaxCount=2, SubnetId=subnets[0],
                                                      SecurityGroupIds=[target_sg])["Instances"]]
    tg_arn = target_group(elbv2, "lonely", vpc)
    elbv2.register_targets(TargetGroupArn=tg_arn, Targets=[{"Id": i, "Port": 8080} for i in ids])
    return {"tg_arn": tg_arn, "instances": ids, "region": REGION}


def empty(c):
    ec2, elbv2 = c["ec2"], c["elbv2"]
    vpc, subnets, lb_sg, _ = network(ec2)
    lb_arn = alb(elbv2, "empty-alb", subnets, lb_sg)
    tg_arn = target_group(elbv2, "empty", vpc)
    elbv2.create_listener(LoadBalancerArn=lb_arn, Protocol="HTTP", Port=80,
                          DefaultActions=[{"Type": "forward", "TargetGroupArn": tg_arn}])
    return {"tg_arn": tg_arn, "lb_arn": lb_arn, "region": REGION}


def many(c, count):
    ec2, elbv2 = c["ec2"], c["elbv2"]
    vpc, subnets, lb_sg, _ = network(ec2)
    lb_arn = alb(elbv2, "bench-alb", subnets, lb_sg)
    tgs = []
    for n in range(count):
        tg = target_group(elbv2, f"bench-{n}", vpc, kind="ip")
        elbv2.register_targets(TargetGroupArn=tg, Targets=[{"Id": f"10.0.{n % 2}.{10 + n % 200}", "Port": 8080},
                                                           {"Id": f"10.0.{n % 2}.{11 + n % 200}", "Port": 8080}])
        tgs.append(tg)
    listener = elbv2.create_listener(LoadBalancerArn=lb_arn, Protocol="HTTP", Port=80,
                                     DefaultActions=[{"Type": "forward", "TargetGroupArn": tgs[0]}])
    for n, tg in enumerate(tgs[1:], start=1):
        elbv2.create_rule(ListenerArn=listener["Listeners"][0]["ListenerArn"], Priority=n,
                          Conditions=[{"Field": "path-pattern", "Values": [f"/svc{n}/*"]}],
                          Actions=[{"Type": "forward", "TargetGroupArn": tg}])
    logs = c["logs"]
    logs.create_log_group(logGroupName="/alb/bench")
    return {"tg_arns": tgs, "lb_arn": lb_arn, "region": REGION, "log_group": "/alb/bench"}


FLEET_PER_ALB = 25


def fleet(c, count, per_alb=FLEET_PER_ALB):
    """`count` target groups as a real fleet has them: 25 per ALB (a listener takes at most 100
    rules), each of kind ip with two registered targets and forwarded by a path rule on
    its ALB's listener (the default action is a fixed 404); one VPC, subnets and security groups.
    """
    ec2, elbv2 = c["ec2"], c["elbv2"]
    vpc, subnets, lb_sg, _ = network(ec2)
    lbs, tgs, tg_lbs = [], [], []
    for k in range((count + per_alb - 1) // per_alb):
        lb_arn = alb(elbv2, f"fleet-alb-{k}", subnets, lb_sg)
        listener = elbv2.create_listener(
            LoadBalancerArn=lb_arn, Protocol="HTTP", Port=80,
            DefaultActions=[{"Type": "fixed-response",
                             "FixedResponseConfig": {"StatusCode": "404", "ContentType": "text/plain"}}],
        )["Listeners"][0]["ListenerArn"]
        lbs.append(lb_arn)
        for n in range(k * per_alb, min(count, (k + 1) * per_alb)):
            tg = target_group(elbv2, f"fleet-{n}", vpc, kind="ip")
            elbv2.register_targets(TargetGroupArn=tg, Targets=[{"Id": f"10.0.{n % 2}.{10 + n % 200}", "Port": 8080},
                                                               {"Id": f"10.0.{n % 2}.{11 + n % 200}", "Port": 8080}])
            elbv2.create_rule(ListenerArn=listener, Priority=n % per_alb + 1,
                              Conditions=[{"Field": "path-pattern", "Values": [f"/svc{n}/*"]}],
                              Actions=[{"Type": "forward", "TargetGroupArn": tg}])
            tgs.append(tg)
            tg_lbs.append(lb_arn)
    # tg_lbs[i] is the load balancer of tg_arns[i].
    return {"tg_arns": tgs, "tg_lbs": tg_lbs, "lb_arns": lbs, "region": REGION}


def main():
    endpoint, scenario = sys.argv[1], sys.argv[2]
    flags = dict(zip(sys.argv[3::2], sys.argv[4::2]))
    count = int(flags.get("--count", 1))
    per_alb = int(flags.get("--per-alb", FLEET_PER_ALB))
    c = clients(endpoint)
    if scenario == "incident":
        out = incident(c)
    elif scenario == "sg-blocked":
        out = incident(c, admit_alb=False, with_logs=False)
    elif scenario == "empty":
        out = empty(c)
    elif scenario == "shared":
        out = shared(c)
    elif scenario == "nlb":
        out = nlb(c)
    elif scenario == "unattached":
        out = unattached(c)
    elif scenario == "hc-port":
        out = incident(c, with_logs=False)
        c["elbv2"].modify_target_group(TargetGroupArn=out["tg_arn"], HealthCheckPort="9000")
    elif scenario == "long-idle":
        out = incident(c, with_logs=False)
        c["elbv2"].modify_load_balancer_attributes(LoadBalancerArn=out["lb_arn"], Attributes=[
            {"Key": "idle_timeout.timeout_seconds", "Value": "4000"}])
    elif scenario == "many":
        out = many(c, count)
    elif scenario == "fleet":
        out = fleet(c, count, per_alb)
    else:
        sys.exit(f"unknown scenario {scenario}")
    print(json.dumps(out))


if __name__ == "__main__":
    main()
