package postgres_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/tuyensinh/tuyensinh/enrollment"
	"github.com/tuyensinh/tuyensinh/enrollment/democity"
	"github.com/tuyensinh/tuyensinh/enrollment/postgres"
	"github.com/tuyensinh/tuyensinh/internal/testenv"
)

// newApp returns the i-th distinct valid application, stamped as intake
// would stamp it.
func newApp(t testing.TB, cat *enrollment.Catalog, i int) *enrollment.Application {
	t.Helper()
	f := validForm()
	dob := time.Date(2021, time.Month(1+i%12), 1+i%28, 0, 0, 0, 0, time.UTC)
	f.Child.DateOfBirth = dob.Format(time.DateOnly)
	f.Child.IDNumber = enrollment.MakeIDNumber("001", dob, enrollment.Female, i)
	a, err := cat.Check(f, testNow)
	if err != nil {
		t.Fatal(err)
	}
	a.ID = fmt.Sprintf("00000000-0000-7000-8000-%012d", i)
	a.TrackingCode = enrollment.NewTrackingCode()
	a.SubmittedAt = testNow.Add(time.Duration(i) * time.Millisecond)
	return a
}

func newStore(t testing.TB) (*postgres.DB, *enrollment.Catalog) {
	t.Helper()
	store := postgres.New(testenv.DB(t))
	if err := store.SaveReference(t.Context(), democity.Reference(testNow)); err != nil {
		t.Fatal(err)
	}
	cat, err := store.LoadCatalog(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	return store, cat
}

func TestSaveReferenceAndCatalog(t *testing.T) {
	t.Parallel()
	store, cat := newStore(t)
	ref := democity.Reference(testNow)
	if got, want := len(cat.Offers(enrollment.LevelLop1, 2027)), countLevel(ref, enrollment.LevelLop1); got != want || got == 0 {
		t.Errorf("lop1 offers = %d, want %d", got, want)
	}
	// Saving again changes nothing.
	if err := store.SaveReference(t.Context(), ref); err != nil {
		t.Fatal(err)
	}
	again, err := store.LoadCatalog(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if len(again.Wards()) != len(ref.Wards) || len(again.Windows()) != 3 {
		t.Errorf("after a second save: %d wards, %d windows; want %d, 3", len(again.Wards()), len(again.Windows()), len(ref.Wards))
	}
	// The confirmation deadline, once set, is the window's.
	for _, w := range again.Windows() {
		if w.ConfirmBy != nil {
			t.Errorf("window %s/%d has confirm_by %v before any was set", w.Level, w.SchoolYear, w.ConfirmBy)
		}
	}
	by := testNow.Add(30 * 24 * time.Hour).Truncate(time.Second)
	if _, err := store.Handle().ExecContext(t.Context(), `UPDATE windows SET confirm_by = $1 WHERE level = 'lop1'`, by); err != nil {
		t.Fatal(err)
	}
	if again, err = store.LoadCatalog(t.Context()); err != nil {
		t.Fatal(err)
	}
	if w, ok := again.CurrentWindow(enrollment.LevelLop1, testNow); !ok || w.ConfirmBy == nil || !w.ConfirmBy.Equal(by) || w.ConfirmBy.Location() != time.UTC {
		t.Errorf("lop1 window = %+v, %v; want confirm_by %v in UTC", w, ok, by)
	}
	o, ok := again.Offer("TH-BADINH-01", enrollment.LevelLop1, 2027)
	if !ok || len(o.Catchment) == 0 || !o.InCatchment("00004", "TDP 3") {
		t.Errorf("offer TH-BADINH-01 = %+v, %v; want its catchment to cover 00004/TDP 3", o, ok)
	}
}

func countLevel(ref enrollment.Reference, l enrollment.Level) int {
	n := 0
	for _, o := range ref.Offers {
		if o.Level == l {
			n++
		}
	}
	return n
}

func TestSaveBatchIdempotent(t *testing.T) {
	t.Parallel()
	store, cat := newStore(t)
	ctx := t.Context()
	apps := []*enrollment.Application{newApp(t, cat, 1), newApp(t, cat, 2), newApp(t, cat, 3)}
	res, err := store.SaveBatch(ctx, apps)
	if err != nil {
		t.Fatal(err)
	}
	for i, r := range res {
		if r.Outcome != enrollment.OutcomeInserted || r.TrackingCode != apps[i].TrackingCode {
			t.Errorf("first save [%d] = %+v, want inserted", i, r)
		}
	}
	// Redelivery of the same batch, plus a new one.
	res, err = store.SaveBatch(ctx, append(apps, newApp(t, cat, 4)))
	if err != nil {
		t.Fatal(err)
	}
	for i, want := range []enrollment.Outcome{enrollment.OutcomeAlreadyStored, enrollment.OutcomeAlreadyStored, enrollment.OutcomeAlreadyStored, enrollment.OutcomeInserted} {
		if res[i].Outcome != want {
			t.Errorf("second save [%d] outcome = %v, want %v", i, res[i].Outcome, want)
		}
	}
	var n int
	if err := store.Handle().GetContext(ctx, &n, `SELECT count(*) FROM applications`); err != nil || n != 4 {
		t.Errorf("applications = %d (%v), want 4", n, err)
	}
}

func TestSaveBatchDuplicateChild(t *testing.T) {
	t.Parallel()
	store, cat := newStore(t)
	ctx := t.Context()
	first := newApp(t, cat, 7)
	second := newApp(t, cat, 7) // same child, another registration
	second.ID = "00000000-0000-7000-8000-999999999999"
	second.TrackingCode = enrollment.NewTrackingCode()
	second.SubmittedAt = first.SubmittedAt.Add(time.Second)
	third := newApp(t, cat, 7) // and a third, in a later batch
	third.ID = "00000000-0000-7000-8000-888888888888"
	third.TrackingCode = enrollment.NewTrackingCode()

	// Both in one batch, the later one first: the earlier submission wins.
	res, err := store.SaveBatch(ctx, []*enrollment.Application{second, first})
	if err != nil {
		t.Fatal(err)
	}
	if res[1].Outcome != enrollment.OutcomeInserted || res[0].Outcome != enrollment.OutcomeDuplicate || res[0].FirstTrackingCode != first.TrackingCode {
		t.Fatalf("SaveBatch(second, first) = %+v, want first inserted and second a duplicate of it", res)
	}
	res, err = store.SaveBatch(ctx, []*enrollment.Application{third})
	if err != nil {
		t.Fatal(err)
	}
	if res[0].Outcome != enrollment.OutcomeDuplicate || res[0].FirstTrackingCode != first.TrackingCode {
		t.Errorf("SaveBatch(third) = %+v, want a duplicate of %s", res[0], first.TrackingCode)
	}

	v, err := store.Status(ctx, second.TrackingCode)
	if err != nil {
		t.Fatal(err)
	}
	if v.Status != enrollment.StatusDuplicate || v.Child != "" || v.Choices != nil {
		t.Errorf("Status(duplicate) = %+v, want duplicate without the first's data", v)
	}
	// Whoever made the second registration may not be the first's parent:
	// the first code is not shown, it is sent again to the first guardian.
	if b, err := json.Marshal(v); err != nil || strings.Contains(string(b), first.TrackingCode) {
		t.Errorf("Status(duplicate) shows %s (%v), want nothing of the first code %s", b, err, first.TrackingCode)
	}
	var resends int
	if err := store.Handle().GetContext(ctx, &resends, `SELECT count(*) FROM outbox WHERE kind = 'code_resend' AND tracking_code = $1`, first.TrackingCode); err != nil || resends != 1 {
		t.Errorf("code re-sends queued for the first application = %d (%v), want 1 (once a day however many duplicates)", resends, err)
	}
	v, err = store.Status(ctx, first.TrackingCode)
	if err != nil {
		t.Fatal(err)
	}
	if v.Status != enrollment.StatusReceived || v.Child != "N. M. Anh" || v.ReceivedAt == nil {
		t.Errorf("Status(first) = %+v, want received, child N. M. Anh", v)
	}
	if _, err := store.Status(ctx, enrollment.NewTrackingCode()); !errors.Is(err, enrollment.ErrNotFound) {
		t.Errorf("Status(unknown) = %v, want ErrNotFound", err)
	}
}

func TestSaveBatchKeepsText(t *testing.T) {
	t.Parallel()
	store, cat := newStore(t)
	a := newApp(t, cat, 11)
	a.Child.FullName = "Đặng Thị Ngọc Ánh"
	a.Residence.Current.Address = `Ngõ 5, "nhà" số 3, {A,B}`
	if _, err := store.SaveBatch(t.Context(), []*enrollment.Application{a}); err != nil {
		t.Fatal(err)
	}
	var name, addr string
	var choices []byte
	row := store.Handle().QueryRowContext(t.Context(), `SELECT child_name, current_address, array_to_json(choices) FROM applications WHERE id = $1`, a.ID)
	if err := row.Scan(&name, &addr, &choices); err != nil {
		t.Fatal(err)
	}
	if name != a.Child.FullName || addr != a.Residence.Current.Address || string(choices) != `["TH-BADINH-01","TH-BADINH-02"]` {
		t.Errorf("stored %q, %q, %s; want %q, %q, the choices", name, addr, choices, a.Child.FullName, a.Residence.Current.Address)
	}
}

// TestStatusLookupUsesIndexes: looking up a code, known or not, probes
// indexes and never scans the applications, on a table large enough for
// the planner to choose.
func TestStatusLookupUsesIndexes(t *testing.T) {
	t.Parallel()
	store, cat := newStore(t)
	ctx := t.Context()
	const n = 4000
	apps := make([]*enrollment.Application, 0, n)
	for i := range n {
		apps = append(apps, newApp(t, cat, i))
	}
	for i := 0; i < n; i += 1000 {
		if _, err := store.SaveBatch(ctx, apps[i:i+1000]); err != nil {
			t.Fatal(err)
		}
	}
	dup := newApp(t, cat, 5) // the same child as apps[5]
	dup.ID = "00000000-0000-7000-8000-999999999999"
	if _, err := store.SaveBatch(ctx, []*enrollment.Application{dup}); err != nil {
		t.Fatal(err)
	}
	if _, err := store.Handle().ExecContext(ctx, `ANALYZE applications; ANALYZE duplicate_submissions`); err != nil {
		t.Fatal(err)
	}
	for _, code := range []string{enrollment.NewTrackingCode(), apps[17].TrackingCode, dup.TrackingCode} {
		var plan []string
		if err := store.Handle().SelectContext(ctx, &plan, "EXPLAIN "+postgres.StatusQuery, code); err != nil {
			t.Fatal(err)
		}
		text := strings.Join(plan, "\n")
		if strings.Contains(text, "Seq Scan on applications") || !strings.Contains(text, "applications_tracking_code_key") {
			t.Errorf("plan of the status lookup of %s scans the applications or skips their code index:\n%s", code, text)
		}
	}
	// The lookups still answer.
	if v, err := store.Status(ctx, apps[17].TrackingCode); err != nil || v.TrackingCode != apps[17].TrackingCode || v.Status != enrollment.StatusReceived {
		t.Errorf("Status(stored) = %+v, %v", v, err)
	}
	if v, err := store.Status(ctx, dup.TrackingCode); err != nil || v.Status != enrollment.StatusDuplicate || v.TrackingCode != dup.TrackingCode {
		t.Errorf("Status(duplicate) = %+v, %v", v, err)
	}
	if _, err := store.Status(ctx, enrollment.NewTrackingCode()); !errors.Is(err, enrollment.ErrNotFound) {
		t.Errorf("Status(unknown) = %v, want ErrNotFound", err)
	}
}

// TestSkippedLookupsUseUniqueIndexes: a redelivered batch is looked up by
// the primary key and by the child's unique key even on a table just
// filled and never analyzed, as after a surge. The lookup by child once
// went through applications_choice1 there and read every application of
// the level and year for each row.
func TestSkippedLookupsUseUniqueIndexes(t *testing.T) {
	t.Parallel()
	store, cat := newStore(t)
	ctx := t.Context()
	const n = 3000
	apps := make([]*enrollment.Application, 0, n)
	for i := range n {
		apps = append(apps, newApp(t, cat, i))
	}
	for i := 0; i < n; i += 1000 {
		if _, err := store.SaveBatch(ctx, apps[i:i+1000]); err != nil {
			t.Fatal(err)
		}
	}
	for _, c := range []struct {
		query, arg, index string
	}{
		{postgres.SkippedByIDQuery, "{" + apps[1].ID + "," + apps[2].ID + "}", "applications_pkey"},
		{postgres.SkippedByChildQuery, "{" + apps[1].Child.IDNumber + "," + apps[2].Child.IDNumber + "}", "applications_one_per_child"},
	} {
		var plan []string
		if err := store.Handle().SelectContext(ctx, &plan, "EXPLAIN "+c.query, c.arg); err != nil {
			t.Fatal(err)
		}
		if text := strings.Join(plan, "\n"); !strings.Contains(text, c.index) || strings.Contains(text, "Seq Scan") {
			t.Errorf("plan of %s does not use %s alone:\n%s", c.query, c.index, text)
		}
	}
	// And a redelivery of the last batch resolves every row as stored.
	res, err := store.SaveBatch(ctx, apps[n-1000:])
	if err != nil {
		t.Fatal(err)
	}
	for i, r := range res {
		if r.Outcome != enrollment.OutcomeAlreadyStored {
			t.Fatalf("redelivered [%d] = %+v, want already stored", i, r)
		}
	}
}

// TestSaveBatchRecordsStoredEvent: every application a batch inserts gets
// its first event, the intake's (queued → received or
// pending_verification); a duplicate of a stored child and a redelivered
// batch add none; and a batch that fails leaves neither applications nor
// events.
func TestSaveBatchRecordsStoredEvent(t *testing.T) {
	t.Parallel()
	store, cat := newStore(t)
	ctx := t.Context()
	plain, pending := newApp(t, cat, 1), newApp(t, cat, 2)
	pending.Verification = enrollment.VerificationPending
	again := newApp(t, cat, 1) // the same child as plain, another registration
	again.ID, again.TrackingCode = "00000000-0000-7000-8000-999999999991", enrollment.NewTrackingCode()
	again.SubmittedAt = plain.SubmittedAt.Add(time.Second)
	res, err := store.SaveBatch(ctx, []*enrollment.Application{plain, pending, again})
	if err != nil {
		t.Fatal(err)
	}
	if res[2].Outcome != enrollment.OutcomeDuplicate {
		t.Fatalf("outcomes = %+v, want the third a duplicate", res)
	}
	if _, err := store.SaveBatch(ctx, []*enrollment.Application{plain, pending}); err != nil {
		t.Fatal(err) // redelivered
	}
	for i, tc := range []struct {
		a  *enrollment.Application
		to enrollment.Status
	}{{plain, enrollment.StatusReceived}, {pending, enrollment.StatusPendingVerification}} {
		f, err := store.File(ctx, tc.a.TrackingCode)
		if err != nil {
			t.Fatal(err)
		}
		want := []enrollment.Event{{Actor: "intake", ActorRole: "intake", From: enrollment.StatusQueued, To: tc.to, At: res[i].StoredAt}}
		if diff := cmp.Diff(want, f.History); diff != "" {
			t.Errorf("history of application %d (-want +got):\n%s", i, diff)
		}
	}
	var events int
	if err := store.Handle().GetContext(ctx, &events, `SELECT count(*) FROM application_events`); err != nil || events != 2 {
		t.Errorf("application_events holds %d rows (%v), want 2", events, err)
	}

	// A batch PostgreSQL refuses (a school year with no window breaks the
	// foreign key) is stored not at all, its events included.
	ok, bad := newApp(t, cat, 3), newApp(t, cat, 4)
	bad.SchoolYear = 1999
	if _, err := store.SaveBatch(ctx, []*enrollment.Application{ok, bad}); err == nil {
		t.Fatal("SaveBatch of a batch with an application of no window = nil, want an error")
	}
	var apps int
	if err := store.Handle().GetContext(ctx, &apps, `SELECT count(*) FROM applications`); err != nil || apps != 2 {
		t.Errorf("applications holds %d rows (%v) after the refused batch, want 2", apps, err)
	}
	if err := store.Handle().GetContext(ctx, &events, `SELECT count(*) FROM application_events`); err != nil || events != 2 {
		t.Errorf("application_events holds %d rows (%v) after the refused batch, want 2", events, err)
	}
}
