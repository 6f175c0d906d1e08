package web_test

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/tuyensinh/tuyensinh/allocation"
	"github.com/tuyensinh/tuyensinh/enrollment"
	"github.com/tuyensinh/tuyensinh/enrollment/democity"
	"github.com/tuyensinh/tuyensinh/enrollment/intake"
	"github.com/tuyensinh/tuyensinh/enrollment/postgres"
	"github.com/tuyensinh/tuyensinh/enrollment/staff"
	"github.com/tuyensinh/tuyensinh/internal/testenv"
	"github.com/tuyensinh/tuyensinh/web"
)

// newParentSite is reviewSite (the demo city, its staff, a Redis intake)
// with the rate limiter on, the client's address taken from X-Real-IP so
// a test can play many addresses, and applications stored directly
// (no worker: placement needs stored applications only).
func newParentSite(t testing.TB) *reviewSite {
	t.Helper()
	ctx := t.Context()
	now := time.Now()
	db := testenv.DB(t)
	store := postgres.New(db)
	if err := store.SaveReference(ctx, democity.Reference(now)); err != nil {
		t.Fatal(err)
	}
	cat, err := store.LoadCatalog(ctx)
	if err != nil {
		t.Fatal(err)
	}
	st := staff.NewStore(db)
	if _, err := st.SeedDemo(ctx, reviewPassword); err != nil {
		t.Fatal(err)
	}
	s := &reviewSite{db: db, store: store, cat: cat}
	s.now.Store(now.UnixNano())
	s.window, _ = cat.CurrentWindow(enrollment.LevelLop1, now)
	for _, o := range cat.Offers(enrollment.LevelLop1, s.window.SchoolYear) {
		if o.Ward != "00004" {
			s.schoolB = *o
			break
		}
	}
	rdb, prefix := testenv.Redis(t)
	metrics := intake.NewMetrics(nil)
	q, err := intake.NewQueue(rdb, intake.Config{Keys: intake.Keys{Prefix: prefix}}, metrics, false)
	if err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(web.NewServer(web.Deps{
		Catalog:        func() *enrollment.Catalog { return cat },
		Intake:         q,
		DB:             postgres.New(db),
		Metrics:        metrics,
		Gatherer:       prometheus.NewRegistry(),
		Staff:          st,
		RateLimiter:    web.NewRateLimiter(rdb, prefix, time.Second, nil),
		ClientIPHeader: "X-Real-IP",
		NowFunc:        func() time.Time { return time.Unix(0, s.now.Load()) },
	}))
	t.Cleanup(srv.Close)
	s.url = srv.URL
	return s
}

// testSeed is the lottery seed of the test runs.
const testSeed = "lop1-thu-nghiem-7c2e9a"

// pseudonym is an application's name in placement files.
func pseudonym(level enrollment.Level, year int, code string) string {
	d := sha256.Sum256(fmt.Appendf(nil, "%s/%d/%s", level, year, code))
	return hex.EncodeToString(d[:])
}

// run is a published placement run made by publish.
type run struct {
	id       int64
	instance []byte
	result   []byte
	res      *allocation.Result
}

// publish places the applications with the given tracking codes (all of
// the site's lop1 window) in one run over every lop1 school of the year,
// the quotas overridden by quotas, publishes it as a round with
// confirmBy, and writes the rows the placement engineer's code writes:
// the seed revealed, the run, one assignment per application, and each
// application placed or unplaced with its event. The instance is built as
// the placement issue says: children by pseudonym, zones by ward.
func (s *reviewSite) publish(t testing.TB, round int, confirmBy time.Time, quotas map[string]int, codes ...string) run {
	t.Helper()
	ctx := t.Context()
	level, year := enrollment.LevelLop1, s.window.SchoolYear
	inst := &allocation.Instance{Level: string(level), Seed: testSeed, Mechanism: allocation.MechanismDA,
		TieBreak: allocation.TieBreakSingle, PriorityRules: []string{"dt1", "dt2", "dt3"}, AdministrativePlacement: true}
	for _, o := range s.cat.Offers(level, year) {
		q, ok := quotas[o.SchoolCode]
		if !ok {
			q = o.Quota
		}
		inst.Schools = append(inst.Schools, allocation.School{ID: o.SchoolCode, Quota: q, Catchment: []string{o.Ward},
			Location: &allocation.Location{Lat: o.Lat, Lon: o.Lon}})
	}
	ids := map[string]string{}
	for _, code := range codes {
		var (
			id, pw, cw string
			choices    pq.StringArray
		)
		if err := s.db.QueryRowContext(ctx, `SELECT id, permanent_ward, current_ward, choices FROM applications WHERE tracking_code = $1`, code).
			Scan(&id, &pw, &cw, &choices); err != nil {
			t.Fatal(err)
		}
		p := pseudonym(level, year, code)
		ids[p] = id
		inst.Students = append(inst.Students, allocation.Student{ID: p, Choices: choices, PermanentZone: pw, CurrentZone: cw, Guaranteed: true})
	}
	res, err := allocation.Place(inst)
	if err != nil {
		t.Fatal(err)
	}
	var ib, rb bytes.Buffer
	if err := allocation.EncodeInstance(&ib, inst); err != nil {
		t.Fatal(err)
	}
	if err := res.WriteJSON(&rb); err != nil {
		t.Fatal(err)
	}
	var file struct {
		Assignments []struct {
			Explanations json.RawMessage `json:"explanations"`
		} `json:"assignments"`
		Stats json.RawMessage `json:"stats"`
	}
	if err := json.Unmarshal(rb.Bytes(), &file); err != nil {
		t.Fatal(err)
	}
	commitment := sha256.Sum256([]byte(testSeed))
	r := run{instance: ib.Bytes(), result: rb.Bytes(), res: res}
	err = postgres.New(s.db).Transact(ctx, 0, func(tx *sqlx.Tx) error {
		if _, err := tx.ExecContext(ctx, `INSERT INTO placement_seeds (level, school_year, seed, commitment, created_by, created_at, revealed_at)
VALUES ($1, $2, $3, $4, 'admin', now() - interval '30 days', now()) ON CONFLICT DO NOTHING`, level, year, testSeed, hex.EncodeToString(commitment[:])); err != nil {
			return err
		}
		if err := tx.QueryRowContext(ctx, `INSERT INTO placement_runs (level, school_year, round, mechanism, include, status, seed_commitment,
    instance, result, stats, confirm_by, created_by, published_by, published_at)
VALUES ($1, $2, $3, 'da', 'accepted', 'published', $4, $5, $6, $7, $8, 'admin', 'admin', now()) RETURNING id`,
			level, year, round, hex.EncodeToString(commitment[:]), r.instance, r.result, []byte(file.Stats), confirmBy).Scan(&r.id); err != nil {
			return err
		}
		for i, a := range res.Assignments {
			var school *string
			status := enrollment.StatusUnplaced
			if a.School != "" {
				school, status = &a.School, enrollment.StatusPlaced
			}
			var dist *float64
			if a.Via == allocation.ViaAdministrative {
				dist = &a.DistanceKm
			}
			d := allocation.LotteryDigest(testSeed, a.Student)
			expl := []byte(file.Assignments[i].Explanations)
			if len(expl) == 0 {
				expl = []byte("[]")
			}
			if _, err := tx.ExecContext(ctx, `INSERT INTO placement_assignments (run_id, application_id, pseudonym, school_code, choice_rank, via, distance_km, lottery, explanations)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`, r.id, ids[a.Student], a.Student, school, a.ChoiceRank, string(a.Via), dist, hex.EncodeToString(d[:]), expl); err != nil {
				return err
			}
			var from enrollment.Status
			if err := tx.QueryRowContext(ctx, `SELECT status FROM applications WHERE id = $1`, ids[a.Student]).Scan(&from); err != nil {
				return err
			}
			if _, err := tx.ExecContext(ctx, `UPDATE applications SET status = $2, placed_run_id = $3 WHERE id = $1`, ids[a.Student], status, r.id); err != nil {
				return err
			}
			if _, err := tx.ExecContext(ctx, `INSERT INTO application_events (application_id, status, actor, actor_role, from_status, to_status)
VALUES ($1, $2, 'admin', 'city', $3, $2)`, ids[a.Student], status, from); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// lookup opens a parent session for an application: a fresh cookie jar
// with the session, and the CSRF token.
func (s *reviewSite) lookup(t testing.TB, code, idNumber string) (*client, reply) {
	t.Helper()
	jar, _ := cookiejar.New(nil)
	c := &client{http: &http.Client{Jar: jar}, name: "parent"}
	// From a fresh address each time: the tests look up more often than
	// one address may.
	a := s.doFrom(t, c, fromAddress(), "POST", "/api/v1/lookup", map[string]string{"tracking_code": code, "child_id_number": idNumber})
	if a.status == http.StatusOK {
		c.csrf, _ = a.body["csrf_token"].(string)
	}
	return c, a
}

var addressN atomic.Int64

// fromAddress returns a client whose requests say they come from a fresh
// address (the site trusts X-Real-IP).
func fromAddress() string {
	return fmt.Sprintf("10.9.%d.%d", addressN.Add(1)/250, addressN.Load()%250+1)
}
