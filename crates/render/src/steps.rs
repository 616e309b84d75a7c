//! Deploy-like steps in a timeline: a bucket where the failure rate jumps or drops by a large
//! factor against the buckets before it and stays there, as a deploy, a config reload or a fix
//! does; a single spike or ordinary noise is not a step.
//!
//! Both sides are compared by their median (the `SIDE` buckets before, and the bucket with the
//! `SIDE - 1` after it), so one odd bucket on either side moves nothing, and a step needs at
//! least [`MIN_COUNT`] failures per bucket on its high side, so a trickle of one or two is not
//! called a deploy.

/// Buckets on each side of a candidate step.
const SIDE: usize = 3;
/// A step changes the rate by at least this factor.
const FACTOR: u64 = 4;
/// The high side of a step has at least this many failures per bucket.
const MIN_COUNT: u64 = 5;

/// Which way the rate moved.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum StepKind {
    /// From (almost) nothing to a steady rate.
    Start,
    /// From a steady rate to a much higher one.
    Up,
    /// From a steady rate to a much lower one, failures still coming.
    Down,
    /// From a steady rate to nothing for the rest of the window.
    Stop,
}

impl StepKind {
    pub(crate) fn words(self) -> &'static str {
        match self {
            StepKind::Start => "sudden start",
            StepKind::Up => "step up",
            StepKind::Down => "step down",
            StepKind::Stop => "sudden stop",
        }
    }
}

/// A step at bucket `index`: the median rate before and from there on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Step {
    pub index: usize,
    pub kind: StepKind,
    pub before: u64,
    pub after: u64,
}

/// The lower median (of an even count, the smaller middle value: a side is only as high as
/// most of its buckets).
fn median(xs: &[u64]) -> u64 {
    let mut v = xs.to_vec();
    v.sort_unstable();
    v.get(v.len().saturating_sub(1) / 2).copied().unwrap_or(0)
}

/// The steps in `counts`, oldest first; at most one per `SIDE` buckets.
pub(crate) fn steps(counts: &[u64]) -> Vec<Step> {
    let n = counts.len();
    let mut out = Vec::new();
    let mut i = 2; // at least two buckets before and two from the step on
    while i + 2 <= n {
        let before = median(&counts[i.saturating_sub(SIDE)..i]);
        let after = median(&counts[i..(i + SIDE).min(n)]);
        let here = counts[i];
        let up = after >= MIN_COUNT
            && here >= MIN_COUNT
            && after >= FACTOR * before.max(1)
            && here >= FACTOR * before.max(1);
        let down = before >= MIN_COUNT && after * FACTOR <= before && here * FACTOR <= before;
        let kind = if up {
            Some(if before == 0 {
                StepKind::Start
            } else {
                StepKind::Up
            })
        } else if down {
            Some(if counts[i..].iter().all(|c| *c == 0) {
                StepKind::Stop
            } else {
                StepKind::Down
            })
        } else {
            None
        };
        if let Some(kind) = kind {
            out.push(Step {
                index: i,
                kind,
                before,
                after,
            });
            i += SIDE;
        } else {
            i += 1;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use cloud502_model::Timeline;

    fn kinds(counts: &[u64]) -> Vec<(usize, StepKind)> {
        steps(counts).iter().map(|s| (s.index, s.kind)).collect()
    }

    #[test]
    fn a_sudden_start_is_a_step() {
        assert_eq!(
            kinds(&[0, 0, 0, 12, 14, 11, 13, 12]),
            vec![(3, StepKind::Start)]
        );
        let s = steps(&[0, 0, 0, 12, 14, 11, 13, 12])[0];
        assert_eq!((s.before, s.after), (0, 12));
    }

    #[test]
    fn a_step_up_while_failing_is_a_step() {
        assert_eq!(
            kinds(&[3, 2, 3, 3, 40, 42, 38, 41]),
            vec![(4, StepKind::Up)]
        );
    }

    #[test]
    fn a_step_down_with_failures_continuing_and_a_stop() {
        assert_eq!(
            kinds(&[40, 42, 38, 41, 6, 5, 7, 6]),
            vec![(4, StepKind::Down)]
        );
        assert_eq!(
            kinds(&[40, 42, 38, 41, 0, 0, 0, 0]),
            vec![(4, StepKind::Stop)]
        );
    }

    #[test]
    fn a_real_timeline_maps_steps_to_times() {
        let t0 = 1_795_268_400; // 2026-11-21T13:40:00Z
        let mut t = Timeline::empty(t0, t0 + 599, 60);
        t.counts = vec![0, 0, 0, 9, 9, 9, 9, 0, 0, 0];
        let got: Vec<(StepKind, Option<i64>)> = steps(&t.counts)
            .iter()
            .map(|s| (s.kind, t.bucket_start(s.index)))
            .collect();
        assert_eq!(
            got,
            vec![
                (StepKind::Start, Some(t0 + 180)),
                (StepKind::Stop, Some(t0 + 420))
            ]
        );
    }

    #[test]
    fn noise_a_spike_and_a_trickle_are_not_steps() {
        // ordinary noise around a steady rate
        assert!(kinds(&[8, 10, 6, 12, 7, 9, 5, 11, 8, 10, 4, 13]).is_empty());
        // one spike, back to the rate the bucket after
        assert!(kinds(&[5, 5, 5, 40, 5, 5, 5, 5]).is_empty());
        // one quiet bucket in a steady rate
        assert!(kinds(&[20, 22, 21, 0, 20, 23, 19, 21]).is_empty());
        // a trickle of ones and twos, however it comes and goes
        assert!(kinds(&[0, 0, 1, 2, 1, 0, 0, 2, 2, 0]).is_empty());
        // a slow ramp doubles per bucket at most
        assert!(kinds(&[1, 2, 3, 5, 8, 12, 18, 27, 40, 60]).is_empty());
        // too short to say
        assert!(kinds(&[0, 50]).is_empty());
        assert!(kinds(&[]).is_empty());
    }
}
