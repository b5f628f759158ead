//! A small bar chart of daily uses, as coordinates for a server-rendered SVG.

/// One day's bar: its left edge, height and top in chart units (the chart is 300 × 60).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Bar {
    pub x: u32,
    pub y: u32,
    pub height: u32,
    pub uses: i64,
    pub day: i64,
}

pub const WIDTH: u32 = 300;
pub const HEIGHT: u32 = 60;

/// Bars for `days` consecutive days ending with `last_day` (unix day numbers), scaled to the busiest
/// day; days missing from `uses` had none.
pub fn daily_bars(uses: &[(i64, i64)], last_day: i64, days: u32) -> Vec<Bar> {
    let days = days.max(1);
    let first = last_day - i64::from(days) + 1;
    let max = uses.iter().filter(|(d, _)| *d >= first && *d <= last_day).map(|(_, n)| *n).max().unwrap_or(0).max(1);
    let slot = WIDTH / days;
    (0..days)
        .map(|i| {
            let day = first + i64::from(i);
            let n = uses.iter().find(|(d, _)| *d == day).map_or(0, |(_, n)| (*n).max(0));
            let scaled = (n.saturating_mul(i64::from(HEIGHT)) / max).clamp(0, i64::from(HEIGHT));
            let height = u32::try_from(scaled).unwrap_or(0).max(u32::from(n > 0));
            Bar { x: i * slot, y: HEIGHT - height, height, uses: n, day }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bars_scale_to_the_busiest_day_and_fill_gaps_with_zero() {
        let bars = daily_bars(&[(98, 5), (100, 10), (50, 1000)], 100, 3);
        assert_eq!(
            bars.iter().map(|b| (b.day, b.uses, b.height)).collect::<Vec<_>>(),
            [(98, 5, 30), (99, 0, 0), (100, 10, 60)]
        );
        assert_eq!(bars[2].y, 0);
        assert_eq!(bars[1].x, 100);
    }

    #[test]
    fn a_single_use_is_still_visible() {
        let bars = daily_bars(&[(1, 1), (2, 10_000)], 2, 2);
        assert_eq!(bars[0].height, 1);
    }

    #[test]
    fn no_uses_draw_no_bars() {
        assert!(daily_bars(&[], 10, 30).iter().all(|b| b.height == 0));
        assert_eq!(daily_bars(&[], 10, 0).len(), 1);
    }
}
