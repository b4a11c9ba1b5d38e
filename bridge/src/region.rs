//! Genesys Cloud regions: the 17 domains of the vendor SDKs and their AWS-style names.
//!
//! Config may name a region either way (`mypurecloud.ie` or `eu-west-1`); hosts are
//! `api.<domain>` and `login.<domain>`.

/// (AWS-style name, domain), as the vendor SDK region constants define them.
pub const REGIONS: [(&str, &str); 17] = [
    ("us-east-1", "mypurecloud.com"),
    ("us-east-2", "use2.us-gov-pure.cloud"), // FedRAMP
    ("us-west-2", "usw2.pure.cloud"),
    ("ca-central-1", "cac1.pure.cloud"),
    ("sa-east-1", "sae1.pure.cloud"),
    ("mx-central-1", "mxc1.pure.cloud"),
    ("eu-west-1", "mypurecloud.ie"),
    ("eu-west-2", "euw2.pure.cloud"),
    ("eu-central-1", "mypurecloud.de"),
    ("eu-central-2", "euc2.pure.cloud"),
    ("me-central-1", "mec1.pure.cloud"),
    ("ap-south-1", "aps1.pure.cloud"),
    ("ap-southeast-1", "apse1.pure.cloud"),
    ("ap-southeast-2", "mypurecloud.com.au"),
    ("ap-northeast-1", "mypurecloud.jp"),
    ("ap-northeast-2", "apne2.pure.cloud"),
    ("ap-northeast-3", "apne3.pure.cloud"),
];

/// A resolved Genesys Cloud region.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Region {
    pub aws_name: &'static str,
    pub domain: &'static str,
}

impl Region {
    /// Accepts a domain or an AWS-style name, case-insensitively, tolerating a leading
    /// `api.`/`login.` or a full `https://` URL that people paste from the browser.
    pub fn parse(input: &str) -> Option<Region> {
        let mut s = input.trim().to_ascii_lowercase();
        for prefix in ["https://", "http://"] {
            if let Some(rest) = s.strip_prefix(prefix) {
                s = rest.to_string();
            }
        }
        let s = s.trim_end_matches('/');
        let s = s
            .strip_prefix("api.")
            .or_else(|| s.strip_prefix("login."))
            .or_else(|| s.strip_prefix("apps."))
            .unwrap_or(s);
        REGIONS
            .iter()
            .find(|(aws, domain)| *aws == s || *domain == s)
            .map(|(aws_name, domain)| Region { aws_name, domain })
    }

    pub fn api_base_url(&self) -> String {
        format!("https://api.{}", self.domain)
    }

    pub fn login_base_url(&self) -> String {
        format!("https://login.{}", self.domain)
    }

    /// For error messages: every accepted name.
    pub fn all_names() -> String {
        REGIONS
            .iter()
            .map(|(a, d)| format!("{d} ({a})"))
            .collect::<Vec<_>>()
            .join(", ")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_region_resolves_both_ways() {
        assert_eq!(REGIONS.len(), 17);
        for (aws, domain) in REGIONS {
            let by_aws = Region::parse(aws).unwrap();
            let by_domain = Region::parse(domain).unwrap();
            assert_eq!(by_aws, by_domain);
            assert_eq!(by_aws.api_base_url(), format!("https://api.{domain}"));
            assert_eq!(by_aws.login_base_url(), format!("https://login.{domain}"));
        }
    }

    #[test]
    fn region_table() {
        let rows = [
            ("mypurecloud.ie", Some("eu-west-1")),
            ("EU-WEST-1", Some("eu-west-1")),
            ("https://api.mypurecloud.de/", Some("eu-central-1")),
            ("login.usw2.pure.cloud", Some("us-west-2")),
            ("apps.mypurecloud.com.au", Some("ap-southeast-2")),
            ("use2.us-gov-pure.cloud", Some("us-east-2")),
            ("mypurecloud.com", Some("us-east-1")),
            ("mypurecloud.co.uk", None),
            ("eu-west-3", None),
            ("", None),
        ];
        for (input, want) in rows {
            assert_eq!(Region::parse(input).map(|r| r.aws_name), want, "{input:?}");
        }
    }
}
