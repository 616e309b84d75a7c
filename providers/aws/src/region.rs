//! The regions the AWS SDK knows, so that a mistyped `--region` (or `AWS_REGION`, or an ARN's
//! region) is one line naming the likely region rather than a DNS failure per call.
//!
//! The list is the SDK's own partition data (`partitions.json`, embedded in
//! aws-sdk-elasticloadbalancingv2 1.84.0 `src/endpoint_lib.rs`, partition `regions` keys without
//! the `*-global` pseudo-regions); the SDK keeps its resolver crate-private, hence the copy. A region
//! newer than this list is refused too, with the fix (an explicit `--endpoint-url`) in the hint.

/// Every region of every partition in the SDK's partition data.
pub const KNOWN_REGIONS: &[&str] = &[
    // aws
    "af-south-1",
    "ap-east-1",
    "ap-east-2",
    "ap-northeast-1",
    "ap-northeast-2",
    "ap-northeast-3",
    "ap-south-1",
    "ap-south-2",
    "ap-southeast-1",
    "ap-southeast-2",
    "ap-southeast-3",
    "ap-southeast-4",
    "ap-southeast-5",
    "ap-southeast-7",
    "ca-central-1",
    "ca-west-1",
    "eu-central-1",
    "eu-central-2",
    "eu-north-1",
    "eu-south-1",
    "eu-south-2",
    "eu-west-1",
    "eu-west-2",
    "eu-west-3",
    "il-central-1",
    "me-central-1",
    "me-south-1",
    "mx-central-1",
    "sa-east-1",
    "us-east-1",
    "us-east-2",
    "us-west-1",
    "us-west-2",
    // aws-cn
    "cn-north-1",
    "cn-northwest-1",
    // aws-us-gov
    "us-gov-east-1",
    "us-gov-west-1",
    // aws-iso, aws-iso-b, aws-iso-e, aws-iso-f
    "us-iso-east-1",
    "us-iso-west-1",
    "us-isob-east-1",
    "eu-isoe-west-1",
    "us-isof-east-1",
    "us-isof-south-1",
    // aws-eusc
    "eusc-de-east-1",
];

/// Edit distance, for naming the region a typo most likely meant.
fn distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut prev = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let cur = row[j + 1];
            row[j + 1] = (prev + usize::from(ca != *cb)).min(row[j] + 1).min(cur + 1);
            prev = cur;
        }
    }
    row[b.len()]
}

/// `Ok` for a region the SDK knows; else the one-line problem, naming the nearest known region.
pub fn check(region: &str) -> Result<(), String> {
    if KNOWN_REGIONS.contains(&region) {
        return Ok(());
    }
    let nearest = KNOWN_REGIONS
        .iter()
        .min_by_key(|r| distance(region, r))
        .filter(|r| distance(region, r) <= 3);
    Err(format!(
        "region `{region}` is not an AWS region{}",
        nearest.map_or(String::new(), |r| format!(" (did you mean {r}?)"))
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_regions_pass_and_typos_name_the_nearest() {
        assert!(check("us-east-1").is_ok());
        assert!(check("cn-northwest-1").is_ok());
        let e = check("us-eats-1").unwrap_err();
        assert!(e.contains("did you mean us-east-1?"), "{e}");
        let e = check("euwest1").unwrap_err();
        assert!(e.contains("eu-west-1"), "{e}");
        let e = check("moon-base-9").unwrap_err();
        assert!(!e.contains("did you mean"), "{e}");
    }
}
