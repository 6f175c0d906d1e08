package postgres_test

import (
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/tuyensinh/tuyensinh/enrollment"
	"github.com/tuyensinh/tuyensinh/enrollment/postgres"
)

var clerk = enrollment.Actor{Name: "school-TH-BADINH-01", Role: enrollment.ActorSchool}

func save(t *testing.T, store *postgres.DB, apps ...*enrollment.Application) {
	t.Helper()
	if _, err := store.SaveBatch(t.Context(), apps); err != nil {
		t.Fatal(err)
	}
}

func code(err error) enrollment.Code {
	var e *enrollment.Error
	if errors.As(err, &e) {
		return e.Code
	}
	return ""
}

// TestTransitionStoresStatusAndEvent: a return shows to the parent with
// its reason, and every move is in the history with who, role, from, to.
func TestTransitionStoresStatusAndEvent(t *testing.T) {
	t.Parallel()
	store, cat := newStore(t)
	ctx := t.Context()
	a := newApp(t, cat, 1)
	save(t, store, a)
	if _, err := store.Transition(ctx, a.TrackingCode, enrollment.StatusReturned, clerk, "  Thiếu giấy khai sinh ", nil); err != nil {
		t.Fatal(err)
	}
	v, err := store.Status(ctx, a.TrackingCode)
	if err != nil {
		t.Fatal(err)
	}
	if v.Status != enrollment.StatusReturned || v.ReturnReason != "Thiếu giấy khai sinh" {
		t.Errorf("status = %s %q, want returned with its reason", v.Status, v.ReturnReason)
	}
	if _, err := store.Transition(ctx, a.TrackingCode, enrollment.StatusAccepted, clerk, "", nil); code(err) != enrollment.CodeConflict {
		t.Errorf("accepting a returned application: %v, want conflict", err)
	}
	f, err := store.File(ctx, a.TrackingCode)
	if err != nil {
		t.Fatal(err)
	}
	if len(f.History) != 1 {
		t.Fatalf("history = %+v, want one event", f.History)
	}
	ev := f.History[0]
	if ev.Actor != clerk.Name || ev.ActorRole != "school" || ev.From != enrollment.StatusReceived || ev.To != enrollment.StatusReturned || ev.Reason != "Thiếu giấy khai sinh" {
		t.Errorf("event = %+v", ev)
	}
	if f.Guardian.Phone != a.Guardian.Phone || f.Child.IDNumber != a.Child.IDNumber || f.Source != enrollment.SourceOnline {
		t.Errorf("file = %+v, want everything submitted", f)
	}
	if _, err := store.Transition(ctx, "0000000000000000000Z", enrollment.StatusAccepted, clerk, "", nil); !errors.Is(err, enrollment.ErrNotFound) {
		t.Errorf("unknown code: %v, want ErrNotFound", err)
	}
}

// TestTransitionConcurrent: two clerks deciding at once give one winner
// and one conflict, and one event.
func TestTransitionConcurrent(t *testing.T) {
	t.Parallel()
	store, cat := newStore(t)
	ctx := t.Context()
	for round := range 5 {
		a := newApp(t, cat, 10+round)
		save(t, store, a)
		var wg sync.WaitGroup
		errs := make([]error, 2)
		start := make(chan struct{})
		for i, to := range []enrollment.Status{enrollment.StatusAccepted, enrollment.StatusReturned} {
			wg.Add(1)
			go func() {
				defer wg.Done()
				<-start
				_, errs[i] = store.Transition(ctx, a.TrackingCode, to, clerk, "lý do", nil)
			}()
		}
		close(start)
		wg.Wait()
		wins, conflicts := 0, 0
		for _, err := range errs {
			switch {
			case err == nil:
				wins++
			case code(err) == enrollment.CodeConflict:
				conflicts++
			default:
				t.Errorf("round %d: %v", round, err)
			}
		}
		if wins != 1 || conflicts != 1 {
			t.Errorf("round %d: %d wins and %d conflicts, want one each (%v)", round, wins, conflicts, errs)
		}
		f, err := store.File(ctx, a.TrackingCode)
		if err != nil {
			t.Fatal(err)
		}
		if len(f.History) != 1 {
			t.Errorf("round %d: %d events, want 1", round, len(f.History))
		}
	}
}

// TestVoidFreesChild: once voided, the child may be stored again for the
// same level and year; the voided file stays and answers voided.
func TestVoidFreesChild(t *testing.T) {
	t.Parallel()
	store, cat := newStore(t)
	ctx := t.Context()
	a := newApp(t, cat, 20)
	save(t, store, a)
	again := newApp(t, cat, 20)
	again.ID, again.TrackingCode = "00000000-0000-7000-8000-999999999999", enrollment.NewTrackingCode()
	out, err := store.SaveBatch(ctx, []*enrollment.Application{again})
	if err != nil || out[0].Outcome != enrollment.OutcomeDuplicate {
		t.Fatalf("second application before the void: %+v %v, want a duplicate", out, err)
	}
	if _, err := store.Transition(ctx, a.TrackingCode, enrollment.StatusVoided, clerk, "", nil); code(err) != enrollment.CodeInvalid {
		t.Errorf("void without a reason: %v, want invalid", err)
	}
	if _, err := store.Transition(ctx, a.TrackingCode, enrollment.StatusVoided, clerk, "Người đăng ký không phải người giám hộ", nil); err != nil {
		t.Fatal(err)
	}
	third := newApp(t, cat, 20)
	third.ID, third.TrackingCode = "00000000-0000-7000-8000-999999999998", enrollment.NewTrackingCode()
	out, err = store.SaveBatch(ctx, []*enrollment.Application{third})
	if err != nil || out[0].Outcome != enrollment.OutcomeInserted {
		t.Fatalf("application after the void: %+v %v, want inserted", out, err)
	}
	// A further registration is a duplicate of the live application, never
	// of the voided one.
	fourth := newApp(t, cat, 20)
	fourth.ID, fourth.TrackingCode = "00000000-0000-7000-8000-999999999997", enrollment.NewTrackingCode()
	out, err = store.SaveBatch(ctx, []*enrollment.Application{fourth})
	if err != nil || out[0].Outcome != enrollment.OutcomeDuplicate || out[0].FirstTrackingCode != third.TrackingCode {
		t.Errorf("registration after the new one: %+v %v, want a duplicate of %s", out, err, third.TrackingCode)
	}
	v, err := store.Status(ctx, a.TrackingCode)
	if err != nil || v.Status != enrollment.StatusVoided {
		t.Errorf("voided code answers %+v %v, want voided", v, err)
	}
	if v.ReturnReason != "" {
		t.Errorf("a void's reason is shown to the code holder: %q", v.ReturnReason)
	}
}

// TestCorrect: a returned application corrected becomes received again,
// with the new content and the history kept; only a returned one, and only
// of the same child.
func TestCorrect(t *testing.T) {
	t.Parallel()
	store, cat := newStore(t)
	ctx := t.Context()
	a := newApp(t, cat, 30)
	save(t, store, a)
	fixed := *a
	fixed.Guardian.Phone = "0987654321"
	if err := store.Correct(ctx, a.TrackingCode, &fixed); code(err) != enrollment.CodeConflict {
		t.Errorf("correcting a received application: %v, want conflict", err)
	}
	if _, err := store.Transition(ctx, a.TrackingCode, enrollment.StatusReturned, clerk, "Sai số điện thoại", nil); err != nil {
		t.Fatal(err)
	}
	other := fixed
	other.Child.IDNumber = newApp(t, cat, 31).Child.IDNumber
	if err := store.Correct(ctx, a.TrackingCode, &other); code(err) != enrollment.CodeInvalid {
		t.Errorf("correcting with another child's ID: %v, want invalid", err)
	}
	if err := store.Correct(ctx, a.TrackingCode, &fixed); err != nil {
		t.Fatal(err)
	}
	f, err := store.File(ctx, a.TrackingCode)
	if err != nil {
		t.Fatal(err)
	}
	if f.Status != enrollment.StatusReceived || f.Guardian.Phone != "0987654321" || f.StatusReason != "" {
		t.Errorf("after correction: %s %q %q", f.Status, f.Guardian.Phone, f.StatusReason)
	}
	if len(f.History) != 2 || f.History[1].From != enrollment.StatusReturned || f.History[1].To != enrollment.StatusReceived || f.History[1].ActorRole != "parent" {
		t.Errorf("history = %+v", f.History)
	}
}

// TestRegisterDirect: stored with source direct and status received; a
// second one for the child is a duplicate naming the first.
func TestRegisterDirect(t *testing.T) {
	t.Parallel()
	store, cat := newStore(t)
	ctx := t.Context()
	a := newApp(t, cat, 40)
	res, err := store.RegisterDirect(ctx, a, clerk, testNow)
	if err != nil {
		t.Fatal(err)
	}
	f, err := store.File(ctx, res.TrackingCode)
	if err != nil {
		t.Fatal(err)
	}
	if f.Source != enrollment.SourceDirect || f.Status != enrollment.StatusReceived || len(f.History) != 1 || f.History[0].Actor != clerk.Name {
		t.Errorf("direct registration stored as %+v", f)
	}
	b := newApp(t, cat, 40)
	res2, err := store.RegisterDirect(ctx, b, clerk, testNow)
	if code(err) != enrollment.CodeDuplicate || res2.Existing == nil || res2.Existing.TrackingCode != res.TrackingCode {
		t.Errorf("second direct registration: %+v %v, want a duplicate naming %s", res2, err, res.TrackingCode)
	}
}

// applicantFixture stores one application per residence category against
// TH-BADINH-01's lop1 2027 catchment (ward 00004, TDP 1–12), plus a
// whole-ward zone (00008) added here.
func applicantFixture(t *testing.T) (*postgres.DB, map[enrollment.ResidenceCategory]*enrollment.Application) {
	t.Helper()
	store, cat := newStore(t)
	if _, err := store.Handle().Exec(`INSERT INTO catchment_zones (school_code, level, school_year, ward_code, groups) VALUES ('TH-BADINH-01', 'lop1', 2027, '00008', '{}')`); err != nil {
		t.Fatal(err)
	}
	res := func(pw, pg, cw, cg string) enrollment.Residence {
		return enrollment.Residence{Permanent: enrollment.Address{Ward: pw, Group: pg}, Current: enrollment.Address{Ward: cw, Group: cg}}
	}
	apps := map[enrollment.ResidenceCategory]*enrollment.Application{}
	for i, tc := range []struct {
		cat  enrollment.ResidenceCategory
		name string
		r    enrollment.Residence
	}{
		{enrollment.DT1, "Nguyễn Văn An", res("00004", "TDP 3", "00004", "TDP 3")},
		{enrollment.DT2, "Trần Thị Bình", res("00004", "TDP 3", "00004", "TDP 20")},
		{enrollment.DT3, "Lê Đức Cường", res("00025", "TDP 1", "00008", "TDP 5")},
		{enrollment.DT4, "Phạm Thu Dung", res("00004", "TDP 20", "00025", "TDP 1")},
	} {
		a := newApp(t, cat, 50+i)
		a.Child.FullName, a.Residence, a.PriorityGroup = tc.name, tc.r, i%2
		apps[tc.cat] = a
	}
	save(t, store, apps[enrollment.DT1], apps[enrollment.DT2], apps[enrollment.DT3], apps[enrollment.DT4])
	return store, apps
}

func TestApplicantsResidenceCategory(t *testing.T) {
	t.Parallel()
	store, apps := applicantFixture(t)
	page, err := store.Applicants(t.Context(), enrollment.ApplicantQuery{School: "TH-BADINH-01"})
	if err != nil {
		t.Fatal(err)
	}
	if page.Total != 4 || len(page.Applications) != 4 {
		t.Fatalf("page = %+v, want 4 applicants", page)
	}
	for _, got := range page.Applications {
		for c, a := range apps {
			if a.TrackingCode == got.TrackingCode && got.ResidenceCategory != c {
				t.Errorf("%s: category %s, want %s", got.ChildName, got.ResidenceCategory, c)
			}
		}
		if got.ChoiceRank != 1 {
			t.Errorf("%s: choice_rank %d, want 1", got.ChildName, got.ChoiceRank)
		}
	}
	// The same children against the second choice's catchment (TDP 12–24).
	page, err = store.Applicants(t.Context(), enrollment.ApplicantQuery{School: "TH-BADINH-02", Category: enrollment.DT2})
	if err != nil {
		t.Fatal(err)
	}
	if page.Total != 1 || page.Applications[0].TrackingCode != apps[enrollment.DT4].TrackingCode || page.Applications[0].ChoiceRank != 2 {
		t.Errorf("TH-BADINH-02 dt2 = %+v, want the child whose permanent residence is TDP 20, at rank 2", page)
	}
	for c, a := range apps {
		page, err := store.Applicants(t.Context(), enrollment.ApplicantQuery{School: "TH-BADINH-01", Category: c})
		if err != nil {
			t.Fatal(err)
		}
		if page.Total != 1 || page.Applications[0].TrackingCode != a.TrackingCode {
			t.Errorf("category %s: %+v", c, page)
		}
	}
}

func TestApplicantsSearch(t *testing.T) {
	t.Parallel()
	store, apps := applicantFixture(t)
	for _, tc := range []struct {
		q    string
		want []enrollment.ResidenceCategory
	}{
		{"nguyen van an", []enrollment.ResidenceCategory{enrollment.DT1}},
		{"NGUYỄN", []enrollment.ResidenceCategory{enrollment.DT1}},
		{"duc cuong", []enrollment.ResidenceCategory{enrollment.DT3}}, // đ is d
		{"thi", []enrollment.ResidenceCategory{enrollment.DT2}},
		{"n", []enrollment.ResidenceCategory{enrollment.DT1, enrollment.DT2, enrollment.DT3, enrollment.DT4}},
		{"%", nil},
		{"xyz", nil},
		{apps[enrollment.DT4].TrackingCode, []enrollment.ResidenceCategory{enrollment.DT4}},
	} {
		page, err := store.Applicants(t.Context(), enrollment.ApplicantQuery{School: "TH-BADINH-01", Q: tc.q})
		if err != nil {
			t.Fatal(err)
		}
		got := map[string]bool{}
		for _, a := range page.Applications {
			got[a.TrackingCode] = true
		}
		if len(got) != len(tc.want) {
			t.Errorf("q=%q: %d applicants, want %d", tc.q, len(got), len(tc.want))
		}
		for _, c := range tc.want {
			if !got[apps[c].TrackingCode] {
				t.Errorf("q=%q: %s not found", tc.q, apps[c].Child.FullName)
			}
		}
	}
}

func TestApplicantsFiltersAndPages(t *testing.T) {
	t.Parallel()
	store, apps := applicantFixture(t)
	ctx := t.Context()
	if _, err := store.Transition(ctx, apps[enrollment.DT3].TrackingCode, enrollment.StatusAccepted, clerk, "", nil); err != nil {
		t.Fatal(err)
	}
	one := 1
	for _, tc := range []struct {
		q    enrollment.ApplicantQuery
		want int
	}{
		{enrollment.ApplicantQuery{Status: enrollment.StatusAccepted}, 1},
		{enrollment.ApplicantQuery{Status: enrollment.StatusReceived}, 3},
		{enrollment.ApplicantQuery{Priority: &one}, 2},
		{enrollment.ApplicantQuery{Level: enrollment.LevelLop6}, 0},
		{enrollment.ApplicantQuery{Level: enrollment.LevelLop1}, 4},
	} {
		tc.q.School = "TH-BADINH-01"
		page, err := store.Applicants(ctx, tc.q)
		if err != nil {
			t.Fatal(err)
		}
		if page.Total != tc.want || len(page.Applications) != tc.want {
			t.Errorf("%+v: %d (%d), want %d", tc.q, page.Total, len(page.Applications), tc.want)
		}
	}
	seen := map[string]bool{}
	for p := 1; p <= 3; p++ {
		page, err := store.Applicants(ctx, enrollment.ApplicantQuery{School: "TH-BADINH-01", Page: p, PerPage: 3})
		if err != nil {
			t.Fatal(err)
		}
		if page.Total != 4 {
			t.Errorf("page %d: total %d, want 4", p, page.Total)
		}
		for _, a := range page.Applications {
			if seen[a.TrackingCode] {
				t.Errorf("page %d repeats %s", p, a.TrackingCode)
			}
			seen[a.TrackingCode] = true
		}
	}
	if len(seen) != 4 {
		t.Errorf("pages held %d applicants, want 4", len(seen))
	}
	page, err := store.Applicants(ctx, enrollment.ApplicantQuery{School: "TH-BADINH-01", PerPage: 5000})
	if err != nil || page.PerPage != enrollment.MaxPerPage {
		t.Errorf("per_page 5000 → %d %v, want %d", page.PerPage, err, enrollment.MaxPerPage)
	}
}

// BenchmarkApplicants lists the first page, and a name search, of a
// school with 5,000 applicants among 20,000 applications.
func BenchmarkApplicants(b *testing.B) {
	store, cat := newStore(b)
	ctx := b.Context()
	const n = 20000
	offers := cat.Offers(enrollment.LevelLop1, 2027)
	batch := make([]*enrollment.Application, 0, 1000)
	for i := range n {
		f := validForm()
		dob := time.Date(2021, time.Month(1+i%12), 1+i%28, 0, 0, 0, 0, time.UTC)
		f.Child.DateOfBirth = dob.Format(time.DateOnly)
		f.Child.IDNumber = enrollment.MakeIDNumber("001", dob, enrollment.Female, i)
		f.Child.FullName = fmt.Sprintf("Nguyễn Thị %s", []string{"An", "Bình", "Chi", "Dung"}[i%4])
		first := offers[0].SchoolCode
		if i%4 != 0 {
			first = offers[1+i%(len(offers)-1)].SchoolCode
		}
		f.Choices = []string{first}
		a, err := cat.Check(f, testNow)
		if err != nil {
			b.Fatal(err)
		}
		a.ID = fmt.Sprintf("00000000-0000-7000-8000-%012d", i)
		a.TrackingCode = enrollment.NewTrackingCode()
		a.SubmittedAt = testNow.Add(time.Duration(i) * time.Millisecond)
		batch = append(batch, a)
		if len(batch) == cap(batch) {
			if _, err := store.SaveBatch(ctx, batch); err != nil {
				b.Fatal(err)
			}
			batch = batch[:0]
		}
	}
	if _, err := store.Handle().Exec(`ANALYZE applications`); err != nil {
		b.Fatal(err)
	}
	for _, bc := range []struct {
		name string
		q    enrollment.ApplicantQuery
	}{
		{"first-page", enrollment.ApplicantQuery{School: offers[0].SchoolCode, PerPage: 50}},
		{"last-page-200", enrollment.ApplicantQuery{School: offers[0].SchoolCode, PerPage: 200, Page: 25}},
		{"search", enrollment.ApplicantQuery{School: offers[0].SchoolCode, Q: "nguyen thi an"}},
		{"category", enrollment.ApplicantQuery{School: offers[0].SchoolCode, Category: enrollment.DT1}},
	} {
		b.Run(bc.name, func(b *testing.B) {
			for b.Loop() {
				page, err := store.Applicants(ctx, bc.q)
				if err != nil {
					b.Fatal(err)
				}
				if page.Total != 5000 && bc.q.Q == "" && bc.q.Category == "" {
					b.Fatalf("total %d, want 5000", page.Total)
				}
			}
		})
	}
}
