package web

import (
	"fmt"
	"strconv"
	"time"

	"github.com/tuyensinh/tuyensinh/enrollment"
)

// Charts of the dashboard, drawn here as plain SVG geometry that the
// page's template writes out: no script, no inline style (the pages' CSP
// forbids both), colours as presentation attributes, every bar with a
// <title> that screen readers and hovering read, and every chart with a
// table of the same numbers beside it.

// chart is one SVG chart.
type chart struct {
	Title         string // the accessible name
	Width, Height int
	Bars          []bar
	Lines         []line
	Texts         []text
}

type bar struct {
	X, Y, W, H float64
	Fill       string
	Title      string
}

type line struct {
	X1, Y1, X2, Y2 float64
	Stroke         string
	Dash           bool
}

type text struct {
	X, Y   float64
	Anchor string // start, middle, end
	Text   string
	Fill   string
	Small  bool
}

// levelColors are the levels' colours, distinct for colour-blind readers
// (Okabe–Ito) and dark enough against white.
var levelColors = map[enrollment.Level]string{
	enrollment.LevelMG3:  "#999933",
	enrollment.LevelMG4:  "#cc6677",
	enrollment.LevelMG5:  "#0072b2",
	enrollment.LevelLop1: "#d55e00",
	enrollment.LevelLop6: "#009e73",
}

func levelColor(l enrollment.Level) string {
	if c, ok := levelColors[l]; ok {
		return c
	}
	return "#555555"
}

// niceMax rounds n up to 1, 2 or 5 times a power of ten, for an axis.
func niceMax(n int) int {
	if n <= 5 {
		return 5
	}
	for p := 1; ; p *= 10 {
		for _, m := range []int{1, 2, 5} {
			if m*p >= n {
				return m * p
			}
		}
	}
}

// hourlyChart stacks each level's registrations per hour. Hours are shown
// in Vietnam time (UTC+7), as officers read the clock.
func hourlyChart(d *dashboard) chart {
	const w, h, left, right, top, bottom = 760, 260, 48, 12, 16, 40
	c := chart{Title: "Số hồ sơ đăng ký mỗi giờ theo cấp học · Registrations per hour by level", Width: w, Height: h}
	n := len(d.Hours)
	if n == 0 {
		return c
	}
	totals := make([]int, n)
	for _, l := range d.Levels {
		for i, v := range d.PerLevel[l] {
			totals[i] += v
		}
	}
	peak := 0
	for _, v := range totals {
		peak = max(peak, v)
	}
	top2 := niceMax(peak)
	plotW, plotH := float64(w-left-right), float64(h-top-bottom)
	step := plotW / float64(n)
	y := func(v int) float64 { return float64(top) + plotH - plotH*float64(v)/float64(top2) }
	// niceMax is 5, 10, 20, 50… so fifths are whole numbers.
	for frac := range 6 {
		v := top2 * frac / 5
		c.Lines = append(c.Lines, line{X1: left, Y1: y(v), X2: float64(w - right), Y2: y(v), Stroke: "#dddddd"})
		c.Texts = append(c.Texts, text{X: left - 6, Y: y(v) + 4, Anchor: "end", Text: strconv.Itoa(v), Small: true, Fill: "#333333"})
	}
	vn := time.FixedZone("ICT", 7*3600)
	base := make([]int, n)
	for _, l := range d.Levels {
		for i, v := range d.PerLevel[l] {
			if v == 0 {
				continue
			}
			x := float64(left) + float64(i)*step
			c.Bars = append(c.Bars, bar{X: x + step*0.1, Y: y(base[i] + v), W: step * 0.8, H: y(base[i]) - y(base[i]+v),
				Fill: levelColor(l), Title: fmt.Sprintf("%s, %s: %d hồ sơ", l.NameVI(), d.Hours[i].In(vn).Format("02/01 15:04"), v)})
			base[i] += v
		}
	}
	every := max(1, n/8)
	for i := 0; i < n; i += every {
		x := float64(left) + float64(i)*step + step/2
		c.Texts = append(c.Texts, text{X: x, Y: h - bottom + 16, Anchor: "middle", Text: d.Hours[i].In(vn).Format("15h"), Small: true, Fill: "#333333"})
		if i == 0 || d.Hours[i].In(vn).Hour() < every {
			c.Texts = append(c.Texts, text{X: x, Y: h - bottom + 30, Anchor: "middle", Text: d.Hours[i].In(vn).Format("02/01"), Small: true, Fill: "#555555"})
		}
	}
	c.Lines = append(c.Lines, line{X1: left, Y1: y(0), X2: float64(w - right), Y2: y(0), Stroke: "#333333"})
	return c
}

// hbarChart is a horizontal bar chart of labelled values; mark, when
// above 0, draws a dashed line at that value (1.0: quota reached) and
// colours the bars beyond it.
func hbarChart(title string, labels []string, values []float64, format func(float64) string, mark float64) chart {
	const w, left, right, rowH = 760, 260, 70, 22
	h := 20 + rowH*len(labels)
	c := chart{Title: title, Width: w, Height: max(h, 40)}
	peak := mark
	for _, v := range values {
		peak = max(peak, v)
	}
	if peak <= 0 {
		peak = 1
	}
	plotW := float64(w - left - right)
	x := func(v float64) float64 { return float64(left) + plotW*v/peak }
	for i, label := range labels {
		yTop := float64(10 + i*rowH)
		fill := "#0072b2"
		if mark > 0 && values[i] > mark {
			fill = "#c8102e"
		}
		c.Bars = append(c.Bars, bar{X: left, Y: yTop + 3, W: max(x(values[i])-left, 1), H: rowH - 6, Fill: fill, Title: label + ": " + format(values[i])})
		c.Texts = append(c.Texts, text{X: left - 8, Y: yTop + rowH/2 + 4, Anchor: "end", Text: clip(label, 34), Fill: "#1a1a1a"})
		c.Texts = append(c.Texts, text{X: x(values[i]) + 6, Y: yTop + rowH/2 + 4, Anchor: "start", Text: format(values[i]), Fill: "#1a1a1a", Small: true})
	}
	if mark > 0 {
		c.Lines = append(c.Lines, line{X1: x(mark), Y1: 4, X2: x(mark), Y2: float64(h - 4), Stroke: "#1a1a1a", Dash: true})
	}
	return c
}

func clip(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n-1]) + "…"
}

// wardChart shows the registrations since d.Since of the busiest wards.
func wardChart(d *dashboard) chart {
	var labels []string
	var values []float64
	for i, w := range d.PerWard {
		if i == 12 {
			break
		}
		labels = append(labels, w.Name)
		values = append(values, float64(w.Count))
	}
	return hbarChart("Số hồ sơ theo phường/xã nơi ở hiện tại · Registrations by ward", labels, values,
		func(v float64) string { return strconv.Itoa(int(v)) }, 0)
}

// demandChart shows first-choice applicants ÷ quota of the most demanded
// schools; red beyond the dashed line of 1 (more first choices than seats).
func demandChart(d *dashboard) chart {
	var labels []string
	var values []float64
	for _, x := range d.Demand {
		labels = append(labels, x.Name+" ("+string(x.Level)+")")
		values = append(values, x.Ratio)
	}
	return hbarChart("Tỉ lệ nguyện vọng 1 trên chỉ tiêu · First-choice applicants per seat", labels, values,
		func(v float64) string { return strconv.FormatFloat(v, 'f', 2, 64) }, 1)
}
