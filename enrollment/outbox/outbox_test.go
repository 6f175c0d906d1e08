package outbox_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/jmoiron/sqlx"

	"github.com/tuyensinh/tuyensinh/enrollment"
	"github.com/tuyensinh/tuyensinh/enrollment/democity"
	"github.com/tuyensinh/tuyensinh/enrollment/outbox"
	"github.com/tuyensinh/tuyensinh/enrollment/postgres"
	"github.com/tuyensinh/tuyensinh/internal/testenv"
)

var testNow = time.Date(2026, 11, 27, 3, 0, 0, 0, time.UTC)

const phone = "0912345678"

type bundle struct {
	db    *sqlx.DB
	store *postgres.DB
	cat   *enrollment.Catalog
	box   *outbox.Store
}

func setup(t *testing.T) *bundle {
	t.Helper()
	b := &bundle{db: testenv.DB(t)}
	b.store = postgres.New(b.db)
	if err := b.store.SaveReference(t.Context(), democity.Reference(testNow)); err != nil {
		t.Fatal(err)
	}
	var err error
	if b.cat, err = b.store.LoadCatalog(t.Context()); err != nil {
		t.Fatal(err)
	}
	b.box = outbox.NewStore(b.db)
	return b
}

// application returns the i-th distinct checked application, not stored.
func (b *bundle) application(t *testing.T, i int) *enrollment.Application {
	t.Helper()
	dob := time.Date(2021, time.Month(1+i%12), 1+i%28, 0, 0, 0, 0, time.UTC)
	a, err := b.cat.Check(&enrollment.Form{Registration: enrollment.Registration{
		Level: enrollment.LevelLop1, SchoolYear: 2027,
		Child: enrollment.Child{IDNumber: enrollment.MakeIDNumber("001", dob, enrollment.Male, i), FullName: "Lê Văn Bình",
			DateOfBirth: dob.Format(time.DateOnly), Sex: enrollment.Male},
		Residence: enrollment.Residence{Current: enrollment.Address{Ward: "00004", Group: "TDP 2"}},
		Guardian:  enrollment.Guardian{FullName: "Lê Văn Cường", Relation: "father", Phone: phone},
		Choices:   []string{"TH-BADINH-01"},
	}, Consent: true}, testNow)
	if err != nil {
		t.Fatal(err)
	}
	a.ID = fmt.Sprintf("00000000-0000-7000-8000-%012d", i)
	a.TrackingCode = enrollment.NewTrackingCode()
	a.SubmittedAt = testNow
	return a
}

func (b *bundle) save(t *testing.T, a *enrollment.Application) {
	t.Helper()
	if _, err := b.store.SaveBatch(t.Context(), []*enrollment.Application{a}); err != nil {
		t.Fatal(err)
	}
}

func (b *bundle) count(t *testing.T, q string, args ...any) int {
	t.Helper()
	var n int
	if err := b.db.GetContext(t.Context(), &n, q, args...); err != nil {
		t.Fatal(err)
	}
	return n
}

// recorder is a Sender that remembers what it was given, and fails while
// fail is set.
type recorder struct {
	mu   sync.Mutex
	sent map[string]int
	last outbox.Message
	fail error
}

func (r *recorder) Send(_ context.Context, m outbox.Message) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.fail != nil {
		return r.fail
	}
	if r.sent == nil {
		r.sent = map[string]int{}
	}
	r.sent[m.IdempotencyKey]++
	r.last = m
	return nil
}

func TestEnqueueDedupe(t *testing.T) {
	t.Parallel()
	b := setup(t)
	ctx := t.Context()
	code := enrollment.NewTrackingCode()
	for i, want := range []bool{true, false} {
		added, err := outbox.Enqueue(ctx, b.db, outbox.KindCodeResend, code, outbox.CodeResendKey(code, testNow))
		if err != nil || added != want {
			t.Errorf("Enqueue #%d = %v, %v; want %v", i+1, added, err, want)
		}
	}
	// Later the same day: still one. The next day: another.
	if err := outbox.EnqueueCodeResend(ctx, b.db, code, testNow.Add(20*time.Hour)); err != nil {
		t.Fatal(err)
	}
	if n := b.count(t, `SELECT count(*) FROM outbox WHERE tracking_code = $1`, code); n != 1 {
		t.Errorf("messages the same day = %d, want 1", n)
	}
	if err := outbox.EnqueueCodeResend(ctx, b.db, code, testNow.Add(24*time.Hour)); err != nil {
		t.Fatal(err)
	}
	if n := b.count(t, `SELECT count(*) FROM outbox WHERE tracking_code = $1`, code); n != 2 {
		t.Errorf("messages over two days = %d, want 2", n)
	}
}

func TestTwoDrainersSendEachOnce(t *testing.T) {
	t.Parallel()
	b := setup(t)
	a := b.application(t, 1)
	b.save(t, a)
	const n = 60
	for i := range n {
		if _, err := outbox.Enqueue(t.Context(), b.db, outbox.KindCodeResend, a.TrackingCode, "test:"+strconv.Itoa(i)); err != nil {
			t.Fatal(err)
		}
	}
	rec := &recorder{}
	var wg sync.WaitGroup
	for range 2 {
		d := outbox.NewDrainer(b.box, rec, outbox.DrainerConfig{Batch: 7})
		wg.Go(func() {
			for {
				k, err := d.Drain(context.Background())
				if err != nil {
					t.Error(err)
					return
				}
				if k == 0 {
					return
				}
			}
		})
	}
	wg.Wait()
	if len(rec.sent) != n {
		t.Errorf("messages sent = %d, want %d", len(rec.sent), n)
	}
	for id, k := range rec.sent {
		if k != 1 {
			t.Errorf("message %s sent %d times, want once", id, k)
		}
	}
	if left := b.count(t, `SELECT count(*) FROM outbox WHERE sent_at IS NULL`); left != 0 {
		t.Errorf("%d messages not marked sent", left)
	}
	if rec.last.Phone != phone || !strings.Contains(rec.last.Text, a.TrackingCode) {
		t.Errorf("message = %+v, want to the guardian's phone with the code", rec.last)
	}
}

func TestFailureBackoff(t *testing.T) {
	t.Parallel()
	b := setup(t)
	a := b.application(t, 2)
	b.save(t, a)
	if err := b.box.ResendCode(t.Context(), a.TrackingCode); err != nil {
		t.Fatal(err)
	}
	rec := &recorder{fail: errors.New("provider said no")}
	d := outbox.NewDrainer(b.box, rec, outbox.DrainerConfig{Backoff: outbox.Backoff{Base: time.Hour, Max: 4 * time.Hour, MaxAttempts: 2}})
	if _, err := d.Drain(t.Context()); err != nil {
		t.Fatal(err)
	}
	type row struct {
		Attempts  int    `db:"attempts"`
		InMinutes int    `db:"in_minutes"`
		Infinite  bool   `db:"infinite"`
		LastError string `db:"last_error"`
		Sent      bool   `db:"sent"`
	}
	get := func() row {
		var r row
		err := b.db.GetContext(t.Context(), &r, `
SELECT attempts, CAST(CASE WHEN next_attempt_at = 'infinity' THEN 0 ELSE round(extract(epoch FROM next_attempt_at - now()) / 60) END AS int) AS in_minutes,
       next_attempt_at = 'infinity' AS infinite, last_error, sent_at IS NOT NULL AS sent
FROM outbox`)
		if err != nil {
			t.Fatal(err)
		}
		return r
	}
	if r := get(); r.Attempts != 1 || r.InMinutes != 60 || r.Infinite || r.Sent || r.LastError != "provider said no" {
		t.Errorf("after one failure: %+v, want 1 attempt, next in 60 minutes, the reason", r)
	}
	if k, _ := d.Drain(t.Context()); k != 0 {
		t.Errorf("Drain before the back-off ended claimed %d, want 0", k)
	}
	b.db.MustExec(`UPDATE outbox SET next_attempt_at = now()`)
	if _, err := d.Drain(t.Context()); err != nil {
		t.Fatal(err)
	}
	if r := get(); r.Attempts != 2 || !r.Infinite || r.Sent {
		t.Errorf("after the last attempt: %+v, want given up", r)
	}
	for attempts, want := range map[int]time.Duration{1: time.Hour, 2: 2 * time.Hour, 3: 4 * time.Hour, 9: 4 * time.Hour} {
		if got := (outbox.Backoff{Base: time.Hour, Max: 4 * time.Hour}).Delay(attempts); got != want {
			t.Errorf("Delay(%d) = %v, want %v", attempts, got, want)
		}
	}
}

func TestMessageWaitsForItsApplication(t *testing.T) {
	t.Parallel()
	b := setup(t)
	a := b.application(t, 3) // accepted by intake, not stored yet
	if err := b.box.ResendCode(t.Context(), a.TrackingCode); err != nil {
		t.Fatal(err)
	}
	rec := &recorder{}
	d := outbox.NewDrainer(b.box, rec, outbox.DrainerConfig{WaitStored: time.Hour})
	if _, err := d.Drain(t.Context()); err != nil {
		t.Fatal(err)
	}
	if len(rec.sent) != 0 {
		t.Fatalf("sent %d messages for an application not stored", len(rec.sent))
	}
	if n := b.count(t, `SELECT count(*) FROM outbox WHERE attempts = 0 AND sent_at IS NULL AND next_attempt_at > now() + interval '50 minutes'`); n != 1 {
		t.Errorf("messages waiting without an attempt counted = %d, want 1", n)
	}
	b.save(t, a)
	b.db.MustExec(`UPDATE outbox SET next_attempt_at = now()`)
	if _, err := d.Drain(t.Context()); err != nil {
		t.Fatal(err)
	}
	if len(rec.sent) != 1 || rec.last.Phone != phone {
		t.Errorf("after the application is stored: sent %v to %q, want one to %s", rec.sent, rec.last.Phone, phone)
	}
}

func TestLogSenderKeepsPersonalDataOut(t *testing.T) {
	t.Parallel()
	var buf bytes.Buffer
	s := outbox.LogSender{Log: slog.New(slog.NewTextHandler(&buf, nil))}
	code := enrollment.NewTrackingCode()
	if err := s.Send(t.Context(), outbox.Message{IdempotencyKey: "42", Kind: outbox.KindCodeResend, Phone: phone, Email: "cuong@example.vn", Text: "Mã: " + code}); err != nil {
		t.Fatal(err)
	}
	log := buf.String()
	for _, secret := range []string{phone, phone[:7], "cuong@", code} {
		if strings.Contains(log, secret) {
			t.Errorf("log %q contains %q", log, secret)
		}
	}
	for _, want := range []string{"code_resend", "42", "***678"} {
		if !strings.Contains(log, want) {
			t.Errorf("log %q lacks %q", log, want)
		}
	}
}
