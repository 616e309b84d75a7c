//! Elastic Load Balancing ARNs and names: parsed up front so a typo is a usage error with the
//! expected form, not an API round trip.

use std::fmt;

/// What an ELBv2 ARN names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ResourceKind {
    /// `targetgroup/NAME/ID`.
    TargetGroup,
    /// `loadbalancer/app/NAME/ID` (or `net/`, `gwy/`).
    LoadBalancer,
}

/// A parsed `arn:PARTITION:elasticloadbalancing:REGION:ACCOUNT:RESOURCE` ARN.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ElbArn {
    /// The whole ARN as given.
    pub arn: String,
    /// `aws`, `aws-cn`, `aws-us-gov`.
    pub partition: String,
    /// The region.
    pub region: String,
    /// The 12-digit account id.
    pub account: String,
    /// What it names.
    pub kind: ResourceKind,
    /// The name (`web`).
    pub name: String,
    /// The resource id (`0123456789abcdef`).
    pub id: String,
    /// For load balancers: `app`, `net` or `gwy`.
    pub lb_type: Option<String>,
}

/// The expected forms, shown when an ARN does not parse.
pub const TG_ARN_FORM: &str =
    "arn:aws:elasticloadbalancing:REGION:ACCOUNT:targetgroup/NAME/ID (or a target group name)";
/// The expected form of a load balancer ARN.
pub const LB_ARN_FORM: &str = "arn:aws:elasticloadbalancing:REGION:ACCOUNT:loadbalancer/app/NAME/ID (or a load balancer name)";

impl ElbArn {
    /// Parse an ELBv2 ARN; the error says what is wrong with it.
    pub fn parse(s: &str) -> Result<ElbArn, String> {
        let parts: Vec<&str> = s.splitn(6, ':').collect();
        if parts.len() != 6 || parts[0] != "arn" {
            return Err(
                "not an ARN (it must have six `:`-separated parts starting with `arn`)".into(),
            );
        }
        let (partition, service, region, account, resource) =
            (parts[1], parts[2], parts[3], parts[4], parts[5]);
        if !matches!(
            partition,
            "aws" | "aws-cn" | "aws-us-gov" | "aws-iso" | "aws-iso-b"
        ) {
            return Err(format!("unknown partition `{partition}`"));
        }
        if service != "elasticloadbalancing" {
            return Err(format!(
                "service is `{service}`, expected `elasticloadbalancing`"
            ));
        }
        if region.is_empty()
            || !region
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
        {
            return Err(format!("region `{region}` is not a region name"));
        }
        if account.len() != 12 || !account.bytes().all(|b| b.is_ascii_digit()) {
            return Err(format!("account `{account}` is not 12 digits"));
        }
        let segs: Vec<&str> = resource.split('/').collect();
        let (kind, lb_type, name, id) = match segs.as_slice() {
            ["targetgroup", name, id] => (ResourceKind::TargetGroup, None, *name, *id),
            ["loadbalancer", t @ ("app" | "net" | "gwy"), name, id] => (
                ResourceKind::LoadBalancer,
                Some((*t).to_owned()),
                *name,
                *id,
            ),
            _ => {
                return Err(format!(
                    "resource `{resource}` is neither targetgroup/NAME/ID nor loadbalancer/app/NAME/ID"
                ));
            }
        };
        valid_name(name)?;
        if id.is_empty() || !id.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(format!("resource id `{id}` is not hexadecimal"));
        }
        Ok(ElbArn {
            arn: s.to_owned(),
            partition: partition.to_owned(),
            region: region.to_owned(),
            account: account.to_owned(),
            kind,
            name: name.to_owned(),
            id: id.to_owned(),
            lb_type,
        })
    }

    /// The CloudWatch dimension value: `targetgroup/NAME/ID` or `app/NAME/ID` (KB 1.1).
    pub fn dimension(&self) -> String {
        match self.kind {
            ResourceKind::TargetGroup => format!("targetgroup/{}/{}", self.name, self.id),
            ResourceKind::LoadBalancer => format!(
                "{}/{}/{}",
                self.lb_type.as_deref().unwrap_or("app"),
                self.name,
                self.id
            ),
        }
    }
}

/// Check a target group or load balancer name: 1-32 characters, letters, digits and hyphens, not
/// starting or ending with a hyphen.
pub fn valid_name(name: &str) -> Result<(), String> {
    if name.is_empty() || name.len() > 32 {
        return Err(format!("name `{name}` must be 1 to 32 characters"));
    }
    if !name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-') {
        return Err(format!(
            "name `{name}` may hold only letters, digits and hyphens"
        ));
    }
    if name.starts_with('-') || name.ends_with('-') {
        return Err(format!("name `{name}` must not start or end with a hyphen"));
    }
    Ok(())
}

/// A target group or load balancer as the user named it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Named {
    /// By ARN.
    Arn(ElbArn),
    /// By name (looked up in the region).
    Name(String),
}

impl Named {
    /// Parse `--tg` / `--lb`: an ARN of the expected kind, or a name.
    pub fn parse(s: &str, want: ResourceKind) -> Result<Named, String> {
        let form = match want {
            ResourceKind::TargetGroup => TG_ARN_FORM,
            ResourceKind::LoadBalancer => LB_ARN_FORM,
        };
        if s.starts_with("arn:") {
            let arn = ElbArn::parse(s)
                .map_err(|e| format!("malformed ARN `{s}`: {e}; expected {form}"))?;
            if arn.kind != want {
                return Err(format!(
                    "`{s}` is not the right kind of ARN; expected {form}"
                ));
            }
            Ok(Named::Arn(arn))
        } else {
            valid_name(s).map_err(|e| format!("{e}; expected {form}"))?;
            Ok(Named::Name(s.to_owned()))
        }
    }

    /// The region the ARN names, if it is an ARN.
    pub fn region(&self) -> Option<&str> {
        match self {
            Named::Arn(a) => Some(&a.region),
            Named::Name(_) => None,
        }
    }
}

impl fmt::Display for Named {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Named::Arn(a) => f.write_str(&a.arn),
            Named::Name(n) => f.write_str(n),
        }
    }
}

/// An `s3://BUCKET/PREFIX` location of ALB access logs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct S3Location {
    /// The bucket.
    pub bucket: String,
    /// The prefix, without leading or trailing `/` (may be empty).
    pub prefix: String,
}

impl S3Location {
    /// Parse `s3://BUCKET[/PREFIX]`.
    pub fn parse(s: &str) -> Result<S3Location, String> {
        let rest = s
            .strip_prefix("s3://")
            .ok_or_else(|| format!("`{s}` is not an s3:// URL; expected s3://BUCKET/PREFIX"))?;
        let (bucket, prefix) = rest.split_once('/').unwrap_or((rest, ""));
        if bucket.len() < 3
            || bucket.len() > 63
            || !bucket
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'.')
        {
            return Err(format!(
                "`{bucket}` is not a bucket name (3-63 lowercase letters, digits, `-` and `.`)"
            ));
        }
        Ok(S3Location {
            bucket: bucket.to_owned(),
            prefix: prefix.trim_matches('/').to_owned(),
        })
    }
}

impl fmt::Display for S3Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.prefix.is_empty() {
            write!(f, "s3://{}", self.bucket)
        } else {
            write!(f, "s3://{}/{}", self.bucket, self.prefix)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TG: &str = "arn:aws:elasticloadbalancing:us-east-2:123456789012:targetgroup/my-targets/73e2d6bc24d8a067";

    #[test]
    fn parses_target_group_and_load_balancer_arns() {
        let a = ElbArn::parse(TG).unwrap();
        assert_eq!(a.kind, ResourceKind::TargetGroup);
        assert_eq!(a.region, "us-east-2");
        assert_eq!(a.account, "123456789012");
        assert_eq!(a.dimension(), "targetgroup/my-targets/73e2d6bc24d8a067");
        let lb = ElbArn::parse(
            "arn:aws:elasticloadbalancing:eu-west-1:123456789012:loadbalancer/app/my-alb/50dc6c495c0c9188",
        )
        .unwrap();
        assert_eq!(lb.kind, ResourceKind::LoadBalancer);
        assert_eq!(lb.dimension(), "app/my-alb/50dc6c495c0c9188");
    }

    #[test]
    fn malformed_arns_say_what_is_wrong_and_show_the_form() {
        for (bad, needle) in [
            (
                "arn:aws:elasticloadbalancing:us-east-2:123:targetgroup/x/ab",
                "12 digits",
            ),
            (
                "arn:aws:ec2:us-east-2:123456789012:targetgroup/x/ab",
                "service",
            ),
            (
                "arn:aws:elasticloadbalancing:us-east-2:123456789012:targetgroup/x",
                "neither",
            ),
            (
                "arn:aws:elasticloadbalancing:us-east-2:123456789012:targetgroup/x/zz",
                "hexadecimal",
            ),
            ("arn:aws", "six"),
            (
                "arn:aws:elasticloadbalancing:US_EAST:123456789012:targetgroup/x/ab",
                "region",
            ),
        ] {
            let e = Named::parse(bad, ResourceKind::TargetGroup).unwrap_err();
            assert!(e.contains(needle), "{bad}: {e}");
            assert!(e.contains("targetgroup/NAME/ID"), "{e}");
        }
        let e = Named::parse(
            "arn:aws:elasticloadbalancing:eu-west-1:123456789012:loadbalancer/app/my-alb/50dc",
            ResourceKind::TargetGroup,
        )
        .unwrap_err();
        assert!(e.contains("not the right kind"), "{e}");
    }

    #[test]
    fn names_are_checked() {
        assert_eq!(
            Named::parse("web-1", ResourceKind::TargetGroup).unwrap(),
            Named::Name("web-1".into())
        );
        assert!(Named::parse("-web", ResourceKind::TargetGroup).is_err());
        assert!(Named::parse("web_1", ResourceKind::LoadBalancer).is_err());
        assert!(Named::parse(&"a".repeat(33), ResourceKind::LoadBalancer).is_err());
    }

    #[test]
    fn s3_locations() {
        let l = S3Location::parse("s3://my-logs/alb/prod/").unwrap();
        assert_eq!(
            (l.bucket.as_str(), l.prefix.as_str()),
            ("my-logs", "alb/prod")
        );
        assert_eq!(l.to_string(), "s3://my-logs/alb/prod");
        assert_eq!(S3Location::parse("s3://my-logs").unwrap().prefix, "");
        assert!(S3Location::parse("https://x").is_err());
        assert!(S3Location::parse("s3://A_B").is_err());
    }
}
