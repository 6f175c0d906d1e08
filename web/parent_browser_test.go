package web_test

import (
	"context"
	"encoding/base64"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/chromedp/cdproto/cdp"
	"github.com/chromedp/cdproto/emulation"
	"github.com/chromedp/chromedp"
)

// TestParentJourney: on a phone at night, a parent looks up with the code
// and the child's ID number, reads the result and why, recomputes the
// lottery number, confirms (the consequence stated before the click),
// prints the admission notice (the PDF read back and drawn to PNG) and
// the page; then anyone opens the public results.
func TestParentJourney(t *testing.T) {
	t.Parallel()
	ps := newParentSite(t)
	s := &site{url: ps.url, cat: ps.cat, win: ps.window, browser: newBrowser(t), shots: shotDir(t)}
	_, atB, _, fB, _ := ps.placedPair(t, time.Now().Add(48*time.Hour))
	var nameA, nameB string
	ps.db.QueryRowContext(t.Context(), `SELECT name FROM schools WHERE code = $1`, schoolA).Scan(&nameA)
	ps.db.QueryRowContext(t.Context(), `SELECT name FROM schools WHERE code = $1`, ps.schoolB.SchoolCode).Scan(&nameB)

	tb := s.newTab(t, phone)
	tb.open("/ket-qua.html?code=" + atB)
	if got := eval[string](tb, `document.getElementById("result-code").value`); strings.ReplaceAll(got, "-", "") != atB {
		t.Errorf("code field = %q, want the code of the address", got)
	}
	tb.typeInto("#result-id", fB.Child.IDNumber)
	tb.shoot("lookup")
	tb.do(chromedp.Click(chromedp.ID("result-btn")))
	head := tb.text("#result-headline")
	if want := "Con được xếp vào " + nameB + " (nguyện vọng 2)."; !strings.Contains(head, want) {
		t.Errorf("headline = %q, want %q", head, want)
	}
	ex := tb.text("#result-explanations")
	if want := nameA + " (nguyện vọng 1) đã đủ chỉ tiêu (1 chỗ): Con cùng mức ưu tiên"; !strings.Contains(ex, want) || !strings.Contains(ex, "bốc thăm") {
		t.Errorf("explanations = %q, want %q and the lottery", ex, want)
	}
	// The consequence of each button is on the page before any click.
	if what := tb.text("#confirm-btn-what"); !strings.Contains(what, "Con giữ chỗ tại "+nameB) {
		t.Errorf("confirm consequence = %q", what)
	}
	if what := tb.text("#decline-btn-what"); !strings.Contains(what, "nhường cho trẻ khác") {
		t.Errorf("decline consequence = %q", what)
	}
	tb.shoot("result")

	tb.do(chromedp.Click(chromedp.ID("lottery-check")))
	tb.waitFor("the lottery recomputed", `(document.getElementById("lottery-verdict") || {}).innerText.startsWith("Khớp")`, 10*time.Second)

	tb.do(chromedp.Click(chromedp.ID("confirm-btn")))
	tb.waitFor("the confirmation", `!!document.getElementById("decision-done")`, 10*time.Second)
	var status string
	ps.db.GetContext(t.Context(), &status, `SELECT status FROM applications WHERE tracking_code = $1`, atB)
	if status != "confirmed" {
		t.Errorf("status after the click = %s", status)
	}
	if got := tb.text("#slip-link"); !strings.Contains(got, "giấy báo nhập học") {
		t.Errorf("slip link = %q", got)
	}
	tb.shoot("confirmed")

	// The slip the link opens, fetched as the page would (its cookie).
	eval[bool](tb, fmt.Sprintf(`(window.slipB64 = null, fetch(%s).then(async (r) => {
	if (!r.ok || r.headers.get("Content-Type") !== "application/pdf") { window.slipB64 = "";	return; }
	const b = new Uint8Array(await r.arrayBuffer());
	let s = ""; for (const x of b) s += String.fromCharCode(x);
	window.slipB64 = btoa(s);
}), true)`, jsString("/api/v1/applications/"+atB+"/slip.pdf")))
	tb.waitFor("the slip", `window.slipB64 !== null`, 10*time.Second)
	b64 := eval[string](tb, `window.slipB64`)
	pdf, err := base64.StdEncoding.DecodeString(b64)
	if err != nil || len(pdf) == 0 {
		t.Fatalf("slip not fetched (%v)", err)
	}
	text := pdftotext(t, pdf)
	for _, want := range []string{"GIẤY BÁO NHẬP HỌC", fB.Child.FullName, nameB} {
		if !strings.Contains(text, want) {
			t.Errorf("admission notice lacks %q", want)
		}
	}
	file := filepath.Join(s.shots, safeName(t.Name())+"-slip.pdf")
	if err := os.WriteFile(file, pdf, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := exec.LookPath("pdftoppm"); err == nil {
		if out, err := exec.Command("pdftoppm", "-png", "-r", "50", "-singlefile", file, strings.TrimSuffix(file, ".pdf")).CombinedOutput(); err != nil {
			t.Errorf("pdftoppm: %v %s", err, out)
		}
		t.Logf("slip drawn: %s.png", strings.TrimSuffix(file, ".pdf"))
	}

	// Printing the page: no header, no buttons, the result kept.
	tb.do(media("print"))
	if d := eval[string](tb, `getComputedStyle(document.querySelector(".site-header")).display + "," + getComputedStyle(document.getElementById("print-btn")).display + "," + getComputedStyle(document.getElementById("result-card")).display`); d != "none,none,block" {
		t.Errorf("print styles (header, button, result) = %s, want none,none,block", d)
	}
	tb.shoot("print")
	tb.do(media(""))

	// Anyone: the public results, at phone and desktop width.
	for _, v := range []viewport{phone, desktop} {
		pub := s.newTab(t, v)
		pub.open(fmt.Sprintf("/ket-qua-cong-bo.html?level=lop1&school_year=%d", ps.window.SchoolYear))
		tbl := pub.text(".results-table")
		if !strings.Contains(tbl, nameA) || !strings.Contains(tbl, "bốc thăm") {
			t.Errorf("public table at %s = %.300q", v.name, tbl)
		}
		if links := eval[int](pub, `document.querySelectorAll('a[href$="instance.json"], a[href$="result.json"]').length`); links != 2 {
			t.Errorf("download links = %d, want 2", links)
		}
		if body := pub.text("main"); strings.Contains(body, fB.Child.FullName) || strings.Contains(body, fB.Child.IDNumber) {
			t.Error("the public page shows a child's name or ID number")
		}
		pub.shoot("published")
	}
}

// media emulates a CSS media type ("print"; "" for the screen again).
func media(m string) chromedp.Action[chromedp.Void] {
	return func(ctx context.Context, tg *chromedp.Target) (chromedp.Void, error) {
		_, err := cdp.Call(ctx, tg, emulation.SetEmulatedMedia, emulation.SetEmulatedMediaParams{Media: m})
		return chromedp.Void{}, err
	}
}

// TestParentLookupWrongPair: a wrong ID number is told plainly, at phone
// width, and the form keeps what was typed.
func TestParentLookupWrongPair(t *testing.T) {
	t.Parallel()
	ps := newParentSite(t)
	s := &site{url: ps.url, cat: ps.cat, win: ps.window, browser: newBrowser(t), shots: shotDir(t)}
	code, _ := ps.stored(t, schoolA)
	tb := s.newTab(t, phone)
	tb.open("/ket-qua.html?code=" + code)
	tb.typeInto("#result-id", "001300000000")
	tb.do(chromedp.Click(chromedp.ID("result-btn")))
	if got := tb.text("#result-error"); !strings.Contains(got, "Không tìm thấy hồ sơ với mã tra cứu và số định danh này") {
		t.Errorf("error = %q", got)
	}
	if got := eval[string](tb, `document.getElementById("result-id").value`); got != "001300000000" {
		t.Errorf("ID field = %q after the error", got)
	}
	tb.shoot("wrong-pair")
}
