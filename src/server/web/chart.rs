//! Line charts of a metric over time, as SVG drawn on the server: readable without
//! JavaScript, with the values also in a table for screen readers and for copying.

use maud::{html, Markup};

use crate::words::{number_in, Lang};

/// One point: when (days since 1970, for the x axis), the date as written, the value
/// and the entry it comes from.
pub struct Point {
    pub day: i64,
    pub date: String,
    pub value: f64,
    pub index: u64,
}

const W: f64 = 480.0;
const H: f64 = 240.0;
const LEFT: f64 = 72.0;
const RIGHT: f64 = 16.0;
const TOP: f64 = 16.0;
const BOTTOM: f64 = 40.0;

/// A chart of `points` (oldest first), titled `title`; `n` tells charts of one page
/// apart.
pub fn line(n: usize, title: &str, unit: &str, points: &[Point], lang: Lang) -> Markup {
    let (min_v, max_v) = points.iter().fold((f64::MAX, f64::MIN), |(lo, hi), p| {
        (lo.min(p.value), hi.max(p.value))
    });
    // Start the axis at zero for quantities that are all positive, so that a small
    // change does not look like a large one; give a flat series some height.
    let lo = if min_v >= 0.0 { 0.0 } else { min_v };
    let hi = if max_v > lo {
        max_v
    } else {
        lo + lo.abs().max(1.0)
    };
    // Values too large to place (a signer may write any finite number): the table
    // alone says them.
    let drawable = (hi - lo).is_finite() && hi > lo;
    let (first, last) = (
        points.first().map_or(0, |p| p.day),
        points.last().map_or(0, |p| p.day),
    );
    let span = (last - first).max(1) as f64;
    let x = |day: i64| {
        if points.len() == 1 {
            LEFT + (W - LEFT - RIGHT) / 2.0
        } else {
            LEFT + (day - first) as f64 / span * (W - LEFT - RIGHT)
        }
    };
    let y = |v: f64| TOP + (hi - v) / (hi - lo) * (H - TOP - BOTTOM);
    let path: Vec<String> = points
        .iter()
        .map(|p| format!("{:.1},{:.1}", x(p.day), y(p.value)))
        .collect();
    let id = format!("chart-{n}");
    html! {
        figure.chart {
            @if drawable { svg role="img" aria-labelledby=(format!("{id}-t")) viewBox=(format!("0 0 {W} {H}"))
                preserveAspectRatio="xMidYMid meet" {
                title id=(format!("{id}-t")) { (title) " (" (unit) ")" }
                line.axis x1=(LEFT) y1=(H - BOTTOM) x2=(W - RIGHT) y2=(H - BOTTOM) {}
                line.axis x1=(LEFT) y1=(TOP) x2=(LEFT) y2=(H - BOTTOM) {}
                text.tick x=(LEFT - 6.0) y=(y(hi) + 4.0) text-anchor="end" { (number_in(round(hi), lang)) }
                text.tick x=(LEFT - 6.0) y=(y(lo) + 4.0) text-anchor="end" { (number_in(round(lo), lang)) }
                @if let (Some(a), Some(b)) = (points.first(), points.last()) {
                    text.tick x=(LEFT) y=(H - 12.0) text-anchor="start" { (a.date) }
                    @if points.len() > 1 {
                        text.tick x=(W - RIGHT) y=(H - 12.0) text-anchor="end" { (b.date) }
                    }
                }
                polyline.series points=(path.join(" ")) {}
                @for p in points {
                    circle.point cx=(format!("{:.1}", x(p.day))) cy=(format!("{:.1}", y(p.value))) r="4" {
                        title { (p.date) ": " (number_in(p.value, lang)) " " (unit) " (#" (p.index) ")" }
                    }
                }
            } }
            figcaption { (title) " (" (unit) ")" }
            details {
                summary { (match lang { Lang::En => "Values", Lang::Vi => "Giá trị" }) }
                table {
                    tbody {
                        @for p in points {
                            tr {
                                td { (p.date) }
                                td.num { (number_in(p.value, lang)) " " (unit) }
                                td { a href=(format!("/records/{}", p.index)) { "#" (p.index) } }
                            }
                        }
                    }
                }
            }
        }
    }
}

fn round(v: f64) -> f64 {
    (v * 100.0).round() / 100.0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_value_makes_a_chart_that_cannot_be_drawn() {
        for values in [
            [1e308, -1e308],
            [9.007_199_254_740_993e15, 9.007_199_254_740_993e15],
            [0.0, 0.0],
            [-3.0, -3.0],
            [5.0, 7.0],
        ] {
            let points: Vec<Point> = values
                .iter()
                .enumerate()
                .map(|(i, v)| Point {
                    day: i as i64,
                    date: format!("2026-01-0{}", i + 1),
                    value: *v,
                    index: i as u64,
                })
                .collect();
            let html = line(0, "metric", "unit", &points, Lang::En).into_string();
            assert!(
                !html.contains("NaN") && !html.contains("inf"),
                "{values:?}: {html}"
            );
            assert!(
                html.contains("<table>"),
                "the values are always written out"
            );
        }
    }
}
