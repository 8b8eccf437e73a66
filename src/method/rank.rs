//! Ranking of scores within one year.
//!
//! Owns: competition ("min") ranking with an explicit tie tolerance. Must not: group by year
//! (the caller passes one year's scores).

/// Two scores (on the 0–100 scale) that differ by at most this many points share a rank. It
/// absorbs floating-point noise (~1e-13 on 0–100) without merging real differences; the
/// docs/method.md §7 warns against rounding before ranking (COINr 1.1.9 bug), so scores are
/// compared, not rounded.
pub const TIE_TOLERANCE: f64 = 1e-9;

/// Competition ranking, rank 1 = highest score, ties share the lowest rank ("min": scores
/// 0.9, 0.7, 0.7, 0.5 → 1, 2, 2, 4; R `rank(-x, ties.method = "min")`, COINr).
///
/// Scores are sorted descending; a score joins the current tie group when it is within `tol`
/// of the group's *first* (highest) score, so a group never spans more than `tol` (no chaining).
/// NaN (missing) scores get no rank.
pub fn competition_rank(scores: &[f64], tol: f64) -> Vec<Option<u32>> {
    let mut order: Vec<usize> = (0..scores.len()).filter(|&i| !scores[i].is_nan()).collect();
    order.sort_by(|&a, &b| scores[b].total_cmp(&scores[a]));
    let mut ranks = vec![None; scores.len()];
    let mut leader = 0;
    for (pos, &i) in order.iter().enumerate() {
        if scores[order[leader]] - scores[i] > tol {
            leader = pos;
        }
        ranks[i] = u32::try_from(leader + 1).ok();
    }
    ranks
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ties_share_the_lowest_rank_within_tolerance() {
        let r = competition_rank(&[0.9, 0.7, 0.7 + 1e-12, f64::NAN, 0.5], TIE_TOLERANCE);
        assert_eq!(r, vec![Some(1), Some(2), Some(2), None, Some(4)]);
        let strict = competition_rank(&[0.7, 0.7 + 1e-12], 0.0);
        assert_eq!(strict, vec![Some(2), Some(1)]);
    }

    #[test]
    fn tie_groups_do_not_chain() {
        let r = competition_rank(&[10.0, 9.6, 9.2], 0.5);
        assert_eq!(r, vec![Some(1), Some(1), Some(3)]);
    }
}
