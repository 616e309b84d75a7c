//! Remediation steps with the time and risk of the troubleshooting guide's method table.
//!
//! | Method | Time | Risk |
//! |---|---|---|
//! | Check backend health | 1-5 min | low |
//! | Restart proxy service | 2-3 min | medium |
//! | Adjust timeout settings | 5-10 min | low |
//! | Review proxy configuration | 10-30 min | medium |
//! | Update SSL/TLS settings | 15-45 min | high |
//! | Scale backend resources | 30-60 min | low |

use cloud502_model::{Remediation, Risk, TimeRange};

fn step(step: &str, command: Option<&str>, min: u32, max: u32, risk: Risk) -> Remediation {
    Remediation {
        step: step.to_owned(),
        command: command.map(str::to_owned),
        expected_time: TimeRange {
            min_minutes: min,
            max_minutes: max,
        },
        risk,
    }
}

/// Check backend health (1-5 min, low risk).
pub fn check_backend(what: &str, command: Option<&str>) -> Remediation {
    step(what, command, 1, 5, Risk::Low)
}

/// Restart a proxy or service (2-3 min, medium risk).
pub fn restart(what: &str, command: Option<&str>) -> Remediation {
    step(what, command, 2, 3, Risk::Medium)
}

/// Adjust timeout settings (5-10 min, low risk).
pub fn adjust_timeouts(what: &str, command: Option<&str>) -> Remediation {
    step(what, command, 5, 10, Risk::Low)
}

/// Review proxy, network or DNS configuration (10-30 min, medium risk).
pub fn review_config(what: &str, command: Option<&str>) -> Remediation {
    step(what, command, 10, 30, Risk::Medium)
}

/// Update SSL/TLS settings or certificates (15-45 min, high risk).
pub fn update_tls(what: &str, command: Option<&str>) -> Remediation {
    step(what, command, 15, 45, Risk::High)
}

/// Scale backend resources (30-60 min, low risk).
pub fn scale_backend(what: &str, command: Option<&str>) -> Remediation {
    step(what, command, 30, 60, Risk::Low)
}
