// Package placement runs the placement engine (package allocation) on the
// applications stored in PostgreSQL: it builds an allocation.Instance from
// the stored data, places it, and keeps the run, its files and every
// child's line through the store (package postgres). It sits between the
// two so that allocation stays pure and the store stays free of rules.
//
// What a run reads. The applications of a level and school year in state
// accepted (or, with include "received", also received and
// pending_verification: a preview during review) whose first choice is a
// school of the run's scope: the whole city for the city's runs, the
// schools of an authority's area (its wards, at any depth below it) for an
// authority's. Choices outside the scope are left out of the instance.
// The schools' offers (quota) and catchments for the level and year; the
// placement policy of the nearest authority up the tree that set one, or
// postgres.DefaultPriorityRules; and the committed lottery seed of the level and year: no
// run can use any other.
//
// Nothing personal goes into the instance. Each child is the pseudonym
// hex(SHA-256("<level>/<school_year>/<tracking code>")), the same in every
// run of the level and year (so each run draws the same lottery numbers),
// which only the holder of the tracking code can find. Students are listed
// in pseudonym order, so the file says nothing of who registered first.
// Zones are a ward code, or "ward/group" where some catchment of the run
// names residential groups of that ward (a catchment taking the whole of
// such a ward then lists each of its groups, and the ward alone for
// residents who gave no group). A child's location is the centroid of the
// ward of its current residence (groups have no coordinates in the
// reference data), never an address. A child of a guaranteed level (mg5,
// lop1, lop6) whose permanent or current residence lies in the catchment of
// a school of the run is guaranteed a place: administrative placement
// (điều tiết) seats such a child when no choice could.
//
// Round 2. A run of round 2 needs the published round 1. Children who
// confirmed their seat keep it (a "kept" line; their seats are taken from
// the quotas), as do children placed and still within the confirmation
// deadline; children placed but unconfirmed after the deadline (the round-1
// run's confirm_by, or the window's) free their seats and move to declined
// when round 2 is published; declined children are left out; children
// still without a place (unplaced, or accepted since) are placed on the
// seats left.
//
// What a run keeps for the next. Officers preview over and over while
// clerks review a few files at a time, so the process keeps the children
// it read (a pool per level, year and states, lines.go) and the next run
// reads only the applications written since (postgres.DB.PlacementChanges)
// and merges them in; its input is kept in chunks by pseudonym, of which
// it writes only those that changed (migrations 00017 and 00018). What
// comes out is the input read whole, byte for byte
// (TestRunsKeepUpWithChanges).
package placement

import (
	"bytes"
	"cmp"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"math"
	"math/bits"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/tuyensinh/tuyensinh/allocation"
	"github.com/tuyensinh/tuyensinh/enrollment"
	"github.com/tuyensinh/tuyensinh/enrollment/postgres"
)

// CityAuthority is the authority whose placement policy applies where an
// authority below it has none.
const CityAuthority = "HN"

// Includes of a run: which applications it places.
const (
	IncludeAccepted = "accepted"
	IncludeReceived = "received"
)

// Request is what a run is asked for.
type Request struct {
	Level      enrollment.Level
	SchoolYear int
	// Round is 1 or 2 (0 means 1).
	Round int
	// Mechanism is da or boston; empty takes the policy's.
	Mechanism allocation.Mechanism
	// Include is IncludeAccepted (empty means it) or IncludeReceived.
	Include string
	// Scope is the authority whose schools the run covers, empty for the
	// whole city.
	Scope string
	// Actor is who makes the run.
	Actor enrollment.Actor
	// ConfirmBy is the run's own confirmation deadline, in the future.
	// Without it a round-1 run takes the window's, and a later round's,
	// whose window deadline has passed by then, is set when it is
	// published: RoundConfirmDays after.
	ConfirmBy *time.Time
}

// RoundConfirmDays is how long the families placed by a later round have
// to confirm their seat when its run sets no deadline of its own.
const RoundConfirmDays = postgres.RoundConfirmDays

// Check fills the defaults of r and returns an *enrollment.Error
// (CodeInvalid) naming every field that is wrong.
func (r *Request) Check() error {
	var probs []enrollment.Problem
	add := func(field, vi, en string) {
		probs = append(probs, enrollment.Problem{Field: field, Message: vi, MessageEN: en})
	}
	if !r.Level.Valid() {
		add("level", "Cấp học phải là một trong: mg3, mg4, mg5, lop1, lop6", "level must be one of mg3, mg4, mg5, lop1, lop6")
	}
	if r.SchoolYear < 2000 || r.SchoolYear > 2200 {
		add("school_year", "Năm học phải là năm bắt đầu, ví dụ 2027", "school_year must be the starting year, e.g. 2027")
	}
	if r.Round == 0 {
		r.Round = 1
	}
	if r.Round != 1 && r.Round != 2 {
		add("round", "Vòng phải là 1 hoặc 2", "round must be 1 or 2")
	}
	if r.Mechanism != "" && r.Mechanism != allocation.MechanismDA && r.Mechanism != allocation.MechanismBoston {
		add("mechanism", `Cách xét tuyển phải là "da" hoặc "boston"`, `mechanism must be "da" or "boston"`)
	}
	if r.Include == "" {
		r.Include = IncludeAccepted
	}
	if r.Include != IncludeAccepted && r.Include != IncludeReceived {
		add("include", `include phải là "accepted" (hồ sơ đã duyệt) hoặc "received" (cả hồ sơ chưa duyệt)`, `include must be "accepted" or "received"`)
	}
	if len(probs) > 0 {
		return &enrollment.Error{Code: enrollment.CodeInvalid, Message: "Yêu cầu chạy phân tuyến không hợp lệ",
			MessageEN: "the placement run request is invalid", Problems: probs}
	}
	return nil
}

// Pseudonym is a child's name in a run's files: the hex SHA-256 of
// "<level>/<school_year>/<tracking code>".
func Pseudonym(level enrollment.Level, year int, trackingCode string) string {
	return string(appendPseudonym(nil, nil, level, year, trackingCode))
}

// appendPseudonym appends the pseudonym to dst, using buf for the hashed
// text: a run names every child, and formatting each with fmt cost more
// than hashing it.
func appendPseudonym[S string | []byte](dst, buf []byte, level enrollment.Level, year int, trackingCode S) []byte {
	d := pseudonymDigest(buf, level, year, trackingCode)
	return hex.AppendEncode(dst, d[:])
}

// pseudonymDigest returns the SHA-256 a pseudonym is the hex of, using
// buf for the text hashed.
func pseudonymDigest[S string | []byte](buf []byte, level enrollment.Level, year int, trackingCode S) [sha256.Size]byte {
	buf = append(buf[:0], level...)
	buf = append(buf, '/')
	buf = strconv.AppendInt(buf, int64(year), 10)
	buf = append(buf, '/')
	buf = append(buf, trackingCode...)
	return sha256.Sum256(buf)
}

// Commitment is the public commitment to a seed: its hex SHA-256.
func Commitment(seed string) string {
	d := sha256.Sum256([]byte(seed))
	return hex.EncodeToString(d[:])
}

// Snapshot is a run's input: the instance the engine places and what the
// store needs besides to keep the run.
type Snapshot struct {
	Request  Request
	Instance *allocation.Instance
	Seed     postgres.Seed
	// Kept are the round-2 children who confirmed: they keep their school.
	Kept []postgres.Assignment
	// Missed are the applications (round 2) placed and unconfirmed after
	// Deadline, whose seats the run frees; Held counts the seats of those
	// placed and still within it.
	Missed   []string
	Held     int
	Deadline *time.Time
	// zones of each school, for the run's figures.
	catchment map[string]map[string]bool
}

// statesOf returns the states a run reads besides the round's own.
func statesOf(include string) []enrollment.Status {
	st := []enrollment.Status{enrollment.StatusAccepted}
	if include == IncludeReceived {
		st = append(st, enrollment.StatusReceived, enrollment.StatusPendingVerification)
	}
	return st
}

// linesParts is how many parts of the lines a run reads at once: as many
// as there are cores, up to four.
var linesParts = min(runtime.GOMAXPROCS(0), 4)

// guaranteedLevel reports whether a level guarantees in-catchment children
// a public place (DOMAIN.md).
func guaranteedLevel(l enrollment.Level) bool {
	return l == enrollment.LevelLop1 || l == enrollment.LevelLop6 || l == enrollment.LevelMG5
}

// Load reads a run's input from the store as it is at now. It returns the
// errors of Request.Check, postgres.ErrNoSeed, and a conflict for a round 2
// without a published round 1.
func Load(ctx context.Context, db *postgres.DB, req Request, now time.Time) (*Snapshot, error) {
	if err := req.Check(); err != nil {
		return nil, err
	}
	if req.ConfirmBy != nil && !req.ConfirmBy.After(now) {
		return nil, &enrollment.Error{Code: enrollment.CodeInvalid, Message: "Yêu cầu chạy phân tuyến không hợp lệ",
			MessageEN: "the placement run request is invalid", Problems: []enrollment.Problem{{Field: "confirm_by",
				Message: "Hạn xác nhận nhập học phải là một thời điểm trong tương lai", MessageEN: "confirm_by must be in the future"}}}
	}
	level, year := string(req.Level), req.SchoolYear
	seed, err := db.Seed(ctx, level, year)
	if err != nil {
		return nil, err
	}
	policy, err := db.Policy(ctx, cmp.Or(req.Scope, CityAuthority), req.Level, year)
	if err != nil {
		return nil, err
	}
	if req.Mechanism == "" {
		req.Mechanism = allocation.Mechanism(policy.Mechanism)
	}
	offers, err := db.ScopeOffers(ctx, req.Scope, level, year)
	if err != nil {
		return nil, err
	}
	if len(offers) == 0 {
		return nil, enrollment.Errorf(enrollment.CodeConflict,
			fmt.Sprintf("Không có trường nào tuyển cấp %s năm học %d trong phạm vi này", level, year),
			fmt.Sprintf("no school of this scope offers %s in school year %d", level, year))
	}
	catchments, err := db.Catchments(ctx, level, year)
	if err != nil {
		return nil, err
	}
	wards, err := db.Wards(ctx)
	if err != nil {
		return nil, err
	}
	states := statesOf(req.Include)
	snap := &Snapshot{Request: req, Seed: seed}
	var previous postgres.Run
	if req.Round == 2 {
		previous, err = db.PublishedRun(ctx, level, year, 1)
		if err != nil {
			return nil, enrollment.Errorf(enrollment.CodeConflict,
				"Chưa công bố vòng 1 của cấp học và năm học này; vòng 2 xét trên kết quả vòng 1",
				"round 1 of this level and school year is not published yet; round 2 works on its result")
		}
		snap.Deadline = previous.ConfirmBy
		if snap.Deadline == nil {
			if snap.Deadline, err = db.WindowConfirmBy(ctx, level, year); err != nil {
				return nil, err
			}
		}
		states = append(states, enrollment.StatusUnplaced)
	}

	inScope := make(map[string]int32, len(offers))
	for k, o := range offers {
		inScope[o.Code] = int32(k)
	}
	wardOf := make(map[string]*postgres.Ward, len(wards))
	// A child's location is its ward's, one for all its children (the
	// engine changes none).
	placeOf := make(map[string]*allocation.Location, len(wards))
	for i := range wards {
		w := &wards[i]
		wardOf[w.Code] = w
		if w.Lat.Valid && w.Lon.Valid {
			placeOf[w.Code] = &allocation.Location{Lat: w.Lat.Float64, Lon: w.Lon.Float64}
		}
	}
	// A ward is split when a catchment of the run names groups of it.
	split := map[string]bool{}
	for _, z := range catchments {
		if _, ok := inScope[z.School]; ok && len(z.Groups) > 0 {
			split[z.Ward] = true
		}
	}
	zone := func(ward, group string) string {
		if group != "" && split[ward] {
			return ward + "/" + group
		}
		return ward
	}
	inst := &allocation.Instance{
		Level: level, Seed: seed.Seed, Mechanism: req.Mechanism, TieBreak: allocation.TieBreak(policy.TieBreak),
		PriorityRules: slices.Clone([]string(policy.PriorityRules)), AdministrativePlacement: policy.AdministrativePlacement,
		Schools: make([]allocation.School, len(offers)),
	}
	if inst.PriorityRules == nil {
		inst.PriorityRules = []string{}
	}
	snap.catchment = make(map[string]map[string]bool, len(offers))
	anyCatchment := map[string]bool{}
	for k, o := range offers {
		s := allocation.School{ID: o.Code, Quota: o.Quota}
		if o.Lat.Valid && o.Lon.Valid {
			s.Location = &allocation.Location{Lat: o.Lat.Float64, Lon: o.Lon.Float64}
		}
		inst.Schools[k] = s
		snap.catchment[o.Code] = map[string]bool{}
	}
	for _, z := range catchments {
		k, ok := inScope[z.School]
		if !ok {
			continue
		}
		var zs []string
		switch {
		case len(z.Groups) > 0:
			for _, g := range z.Groups {
				zs = append(zs, z.Ward+"/"+g)
			}
		case split[z.Ward]:
			zs = append(zs, z.Ward)
			if w := wardOf[z.Ward]; w != nil {
				for _, g := range w.Groups {
					zs = append(zs, z.Ward+"/"+g)
				}
			}
		default:
			zs = []string{z.Ward}
		}
		for _, s := range zs {
			if !snap.catchment[z.School][s] {
				snap.catchment[z.School][s] = true
				inst.Schools[k].Catchment = append(inst.Schools[k].Catchment, s)
				anyCatchment[s] = true
			}
		}
	}

	// Round 2: who keeps, who holds, who is freed.
	taken := make([]int, len(offers))
	if req.Round == 2 {
		held, err := db.PlacementApplicants(ctx, level, year, []enrollment.Status{enrollment.StatusPlaced, enrollment.StatusConfirmed})
		if err != nil {
			return nil, err
		}
		pastDeadline := snap.Deadline != nil && now.After(*snap.Deadline)
		for i := range held {
			a := &held[i]
			if len(a.Choices) == 0 {
				continue
			}
			if _, ok := inScope[a.Choices[0]]; !ok {
				continue
			}
			k, placedHere := inScope[a.PlacedSchool]
			switch {
			case a.Status == enrollment.StatusConfirmed:
				if placedHere {
					taken[k]++
				}
				ps := Pseudonym(req.Level, year, a.TrackingCode)
				d := allocation.LotteryDigest(seed.Seed, ps)
				snap.Kept = append(snap.Kept, postgres.Assignment{ApplicationID: a.ID, Pseudonym: ps, School: a.PlacedSchool,
					Via: "kept", Lottery: hex.EncodeToString(d[:]), ChoiceRank: slices.Index(a.Choices, a.PlacedSchool) + 1})
			case pastDeadline:
				snap.Missed = append(snap.Missed, a.ID)
			default:
				if placedHere {
					taken[k]++
				}
				snap.Held++
			}
		}
		slices.SortFunc(snap.Kept, func(a, b postgres.Assignment) int { return strings.Compare(a.Pseudonym, b.Pseudonym) })
		slices.Sort(snap.Missed)
	}
	for k := range inst.Schools {
		inst.Schools[k].Quota = max(0, inst.Schools[k].Quota-taken[k])
	}

	// The children to place, from the line each application keeps for
	// placement: the pool of the level and year, kept from the last run
	// and brought up to date, or read whole. A residence is made once for
	// all its children, its zone, location and catchment with it.
	p, err := readPool(ctx, db, req.Level, year, states)
	if err != nil {
		return nil, err
	}
	makeResidence := func(ward, group string) residence {
		r := residence{zone: zone(ward, group), noWard: ward == "", place: placeOf[ward]}
		r.catchment = anyCatchment[r.zone]
		return r
	}
	codes := make([]string, len(offers))
	for k, o := range offers {
		codes[k] = o.Code
	}
	inst.Students = p.students(inScope, codes, makeResidence, guaranteedLevel(req.Level))
	snap.Instance = inst
	return snap, nil
}

// sortByKey returns xs sorted by cmp, where key gives a number that
// orders them as cmp does but where two agree, evenly spread as hashes
// are: the numbers' top 16 bits deal them into buckets in one pass, and
// each bucket, a few of them, is sorted by cmp. A sort by comparisons
// alone took longer than placing the children.
func sortByKey[T any](xs []T, key func(*T) uint64, cmp func(a, b T) int) []T {
	const bits = 16
	var start [1<<bits + 1]int32
	for i := range xs {
		start[key(&xs[i])>>(64-bits)+1]++
	}
	for b := 1; b < len(start); b++ {
		start[b] += start[b-1]
	}
	out := make([]T, len(xs))
	next := start
	for i := range xs {
		b := key(&xs[i]) >> (64 - bits)
		out[next[b]] = xs[i]
		next[b]++
	}
	for b := 0; b < 1<<bits; b++ {
		if start[b+1]-start[b] > 1 {
			slices.SortFunc(out[start[b]:start[b+1]], cmp)
		}
	}
	return out
}

// Stats are a run's figures, kept with the run and compared side by side.
type Stats struct {
	// Students counts the children the engine placed (Kept not included).
	Students int `json:"students"`
	Schools  int `json:"schools"`
	Seats    int `json:"seats"`
	// AssignedByChoice counts children placed at one of their choices,
	// FirstChoice those at their first; InCatchment those placed at a
	// school whose catchment holds their permanent or current residence.
	AssignedByChoice int `json:"assigned_by_choice"`
	FirstChoice      int `json:"first_choice"`
	InCatchment      int `json:"in_catchment"`
	Administrative   int `json:"administrative"`
	Unassigned       int `json:"unassigned"`
	// Guaranteed counts children entitled to a place; UnassignedGuaranteed
	// those of them left without one.
	Guaranteed                     int `json:"guaranteed"`
	UnassignedGuaranteed           int `json:"unassigned_guaranteed"`
	UnassignedGuaranteedNoLocation int `json:"unassigned_guaranteed_no_location"`
	FreeSeats                      int `json:"free_seats"`
	FullSchools                    int `json:"full_schools"`
	// MeanDistanceKm and P90DistanceKm are over the placed children with
	// a location, home ward centroid to school; nil when there are none.
	MeanDistanceKm      *float64 `json:"mean_distance_km"`
	P90DistanceKm       *float64 `json:"p90_distance_km"`
	ChoiceRankHistogram []int    `json:"choice_rank_histogram"`
	// Round 2: Kept children who confirmed, Held placed within the
	// deadline, Released placed unconfirmed after it (their seats freed).
	Kept     int        `json:"kept"`
	Held     int        `json:"held"`
	Released int        `json:"released"`
	Deadline *time.Time `json:"confirm_deadline,omitempty"`
}

// Figures returns the stats of a result of the snapshot.
func (s *Snapshot) Figures(res *allocation.Result) Stats {
	st := res.Stats
	out := Stats{Students: st.Students, Schools: st.Schools, Seats: st.Seats, AssignedByChoice: st.AssignedByChoice,
		Administrative: st.Administrative, Unassigned: st.Unassigned, Guaranteed: st.Guaranteed,
		UnassignedGuaranteed: st.UnassignedGuaranteed, UnassignedGuaranteedNoLocation: st.UnassignedGuaranteedNoLocation,
		FreeSeats: st.FreeSeats, FullSchools: st.FullSchools, ChoiceRankHistogram: st.ChoiceRankHistogram,
		Kept: len(s.Kept), Held: s.Held, Released: len(s.Missed), Deadline: s.Deadline}
	if out.ChoiceRankHistogram == nil {
		out.ChoiceRankHistogram = []int{}
	}
	if len(st.ChoiceRankHistogram) > 0 {
		out.FirstChoice = st.ChoiceRankHistogram[0]
	}
	schoolAt := make(map[string]int, len(s.Instance.Schools))
	for k := range s.Instance.Schools {
		schoolAt[s.Instance.Schools[k].ID] = k
	}
	// The children are counted in a fixed number of chunks, as many at
	// once as there are cores, and the chunks' sums added in their order:
	// the figures do not depend on the machine. A million children took a
	// third of a second one after another.
	const chunks = 16
	type pair struct {
		from   *allocation.Location
		school int
	}
	n := len(res.Assignments)
	var inCatchment [chunks]int
	var sums [chunks]float64
	var kms [chunks][]float64
	var wg sync.WaitGroup
	next := make(chan int, chunks)
	for c := range chunks {
		next <- c
	}
	close(next)
	for range min(runtime.GOMAXPROCS(0), chunks) {
		wg.Go(func() {
			// Children share their ward's location: a distance from a
			// location to a school is worked out once, while there are
			// few of them (a city of few wards and schools).
			memo := map[pair]float64{}
			for c := range next {
				lo, hi := n*c/chunks, n*(c+1)/chunks
				km := make([]float64, 0, hi-lo)
				// Counted in locals: the chunks' counters share cache lines.
				in, sum := 0, 0.0
				for i := lo; i < hi; i++ {
					a := &res.Assignments[i]
					if a.School == "" {
						continue
					}
					stu := &s.Instance.Students[i]
					if z := s.catchment[a.School]; z[stu.PermanentZone] || z[stu.CurrentZone] {
						in++
					}
					k := schoolAt[a.School]
					if sc := s.Instance.Schools[k].Location; stu.Location != nil && sc != nil {
						d, ok := memo[pair{stu.Location, k}]
						if !ok {
							d = allocation.Distance(*stu.Location, *sc)
							if len(memo) < 4096 {
								memo[pair{stu.Location, k}] = d
							}
						}
						km = append(km, d)
						sum += d
					}
				}
				kms[c], inCatchment[c], sums[c] = km, in, sum
			}
		})
	}
	wg.Wait()
	total := 0
	for _, km := range kms {
		total += len(km)
	}
	all := make([]float64, 0, total)
	sum := 0.0
	for c := range chunks {
		out.InCatchment += inCatchment[c]
		sum += sums[c]
		all = append(all, kms[c]...)
	}
	if len(all) > 0 {
		mean := round3(sum / float64(len(all)))
		// The 90th percentile: the distance of the ⌈0.9·n⌉-th child
		// from the nearest.
		p90 := round3(nth(all, int(math.Ceil(0.9*float64(len(all))))-1))
		out.MeanDistanceKm, out.P90DistanceKm = &mean, &p90
	}
	return out
}

// nth returns the k-th smallest of xs (from 0), reordering xs: a
// quickselect on the median of three, which sorts what is left once it
// has split too often to be making progress.
func nth(xs []float64, k int) float64 {
	for budget := 2 * bits.Len(uint(len(xs))); len(xs) > 16; budget-- {
		if budget == 0 {
			slices.Sort(xs)
			return xs[k]
		}
		m := len(xs) / 2
		a, b, c := xs[0], xs[m], xs[len(xs)-1]
		pivot := max(min(a, b), min(max(a, b), c))
		// Three-way partition: < pivot, == pivot, > pivot.
		lt, i, gt := 0, 0, len(xs)
		for i < gt {
			switch {
			case xs[i] < pivot:
				xs[lt], xs[i] = xs[i], xs[lt]
				lt++
				i++
			case xs[i] > pivot:
				gt--
				xs[gt], xs[i] = xs[i], xs[gt]
			default:
				i++
			}
		}
		switch {
		case k < lt:
			xs = xs[:lt]
		case k >= gt:
			xs, k = xs[gt:], k-gt
		default:
			return pivot
		}
	}
	slices.Sort(xs)
	return xs[k]
}

func round3(f float64) float64 { return math.Round(f*1000) / 1000 }

// Place runs the engine on the snapshot's instance.
func (s *Snapshot) Place() (*allocation.Result, error) {
	res, err := allocation.Place(s.Instance)
	if err != nil {
		// The instance is built here from checked data: an input error
		// is a fault of ours, not of the officer's.
		return nil, fmt.Errorf("place %s/%d: %w", s.Request.Level, s.Request.SchoolYear, err)
	}
	return res, nil
}

// Outcome is a run placed and stored: the run, its result, and how long
// the engine placed and how much longer the run took to be stored.
type Outcome struct {
	Run    postgres.Run
	Result *allocation.Result
	Place  time.Duration
	Store  time.Duration
}

// PlaceAndStore places the snapshot and keeps the run as a preview: the
// instance file exactly as `tuyensinh place` reads it (written while the
// engine places it), the figures and, for a later round, the children who
// keep their school. The children's lines, explanations and result file
// are a function of the instance (Result places it again): Publish writes
// them, the one time parents need them; an officer iterating on previews
// does not pay for them.
func PlaceAndStore(ctx context.Context, db *postgres.DB, s *Snapshot) (Outcome, error) {
	t0 := time.Now()
	req := s.Request
	r := postgres.Run{Level: string(req.Level), SchoolYear: req.SchoolYear, Round: req.Round, Mechanism: string(s.Instance.Mechanism),
		Include: req.Include, Scope: req.Scope, SeedCommitment: s.Seed.Commitment, CreatedBy: req.Actor.Name}
	r.ConfirmBy = req.ConfirmBy
	if r.ConfirmBy == nil && req.Round == 1 {
		var err error
		if r.ConfirmBy, err = db.WindowConfirmBy(ctx, string(req.Level), req.SchoolYear); err != nil {
			return Outcome{}, err
		}
	}
	pending := db.StartRun(ctx, r, s.Instance, s.Kept)
	t1 := time.Now()
	res, err := s.Place()
	if err != nil {
		pending.Abort()
		return Outcome{}, err
	}
	t2 := time.Now()
	stats, err := json.Marshal(s.Figures(res))
	if err != nil {
		pending.Abort()
		return Outcome{}, fmt.Errorf("encode stats: %w", err)
	}
	run, err := pending.Commit(ctx, string(res.Mechanism), stats)
	if err != nil {
		return Outcome{}, err
	}
	place := t2.Sub(t1)
	return Outcome{Run: run, Result: res, Place: place, Store: time.Since(t0) - place}, nil
}

// Result returns a stored run's result: its instance placed again (the
// engine is deterministic), once for every caller (see Placed).
func Result(ctx context.Context, db *postgres.DB, id int64) (*allocation.Result, error) {
	_, res, err := Placed(ctx, db, id)
	return res, err
}

// place decodes run id's instance and places it.
func place(ctx context.Context, db *postgres.DB, id int64) (*allocation.Instance, *allocation.Result, error) {
	inst, err := db.RunInstance(ctx, id)
	if err != nil {
		return nil, nil, err
	}
	res, err := allocation.Place(inst)
	if err != nil {
		return nil, nil, fmt.Errorf("run %d: %w", id, err)
	}
	return inst, res, nil
}

// ResultFile returns a run's result file: as kept for a published run,
// written afresh from its instance for a preview.
func ResultFile(ctx context.Context, db *postgres.DB, id int64) ([]byte, error) {
	b, err := db.RunFile(ctx, id, true)
	if err != nil || b != nil {
		return b, err
	}
	res, err := Result(ctx, db, id)
	if err != nil {
		return nil, err
	}
	var out bytes.Buffer
	if err := res.WriteJSON(&out); err != nil {
		return nil, fmt.Errorf("run %d result: %w", id, err)
	}
	return out.Bytes(), nil
}

// Run loads, places and stores a run: a preview until published.
func Run(ctx context.Context, db *postgres.DB, req Request, now time.Time) (postgres.Run, error) {
	snap, err := Load(ctx, db, req, now)
	if err != nil {
		return postgres.Run{}, err
	}
	out, err := PlaceAndStore(ctx, db, snap)
	if err != nil {
		return postgres.Run{}, err
	}
	remember(db, out.Run.ID, snap.Instance, out.Result)
	return out.Run, nil
}

// MissedReason is the reason recorded on a child moved to declined for
// not confirming its seat by the deadline.
const MissedReason = "Không xác nhận nhập học trước hạn; chỗ học được xét lại ở vòng 2 / not confirmed by the deadline; the seat was offered in round 2"

// Publish publishes run id by actor (see postgres.DB.Publish): the
// applications take its result, the seed is revealed, the run is frozen.
// For round 2, the children the run freed the seats of move to declined.
// check is called under the run's lock (authorization). It returns the
// store's errors.
func Publish(ctx context.Context, db *postgres.DB, id int64, actor enrollment.Actor, check func(postgres.Run) error) (postgres.Run, error) {
	r, err := db.Run(ctx, id)
	if err != nil {
		return postgres.Run{}, err
	}
	allowed := statesOf(r.Include)
	p := postgres.Publication{Actor: actor, Allowed: allowed}
	if r.Round == 2 {
		p.Allowed = append(p.Allowed, enrollment.StatusUnplaced)
		var st Stats
		if err := json.Unmarshal(r.Stats, &st); err != nil {
			return postgres.Run{}, fmt.Errorf("run %d stats: %w", id, err)
		}
		if st.Released > 0 {
			// The run freed the seats of the children placed in round 1
			// and unconfirmed when it was made: the same children now.
			if p.Missed, err = missedOf(ctx, db, r); err != nil {
				return postgres.Run{}, err
			}
			if len(p.Missed) != st.Released {
				return postgres.Run{}, enrollment.Errorf(enrollment.CodeConflict,
					"Số trẻ quá hạn xác nhận đã thay đổi sau khi chạy lượt này; hãy chạy lượt mới rồi công bố",
					"the children past their confirmation deadline changed since this run was made; make a new run and publish that")
			}
			p.MissedReason = MissedReason
		}
	}
	inst, res, err := Placed(ctx, db, id)
	if err != nil {
		return postgres.Run{}, err
	}
	var out bytes.Buffer
	if err := res.WriteJSON(&out); err != nil {
		return postgres.Run{}, fmt.Errorf("run %d result: %w", id, err)
	}
	p.Result = out.Bytes()
	var file bytes.Buffer
	file.Grow(256 * len(inst.Students))
	if err := allocation.EncodeInstance(&file, inst); err != nil {
		return postgres.Run{}, fmt.Errorf("run %d instance: %w", id, err)
	}
	p.Instance = file.Bytes()
	kept, err := db.RunKept(ctx, id)
	if err != nil {
		return postgres.Run{}, err
	}
	// The applications of the run's children, by pseudonym.
	apps := make(map[string]string, len(res.Assignments))
	var buf [128]byte
	var name []byte
	err = db.ApplicationCodes(ctx, r.Level, r.SchoolYear, func(id, code string) {
		name = appendPseudonym(name[:0], buf[:0], enrollment.Level(r.Level), r.SchoolYear, code)
		apps[string(name)] = id
	})
	if err != nil {
		return postgres.Run{}, err
	}
	p.Lines = func(yield func(postgres.Assignment) error) error {
		x := res.NewExplainer()
		for i := range res.Assignments {
			a := &res.Assignments[i]
			app, ok := apps[a.Student]
			if !ok {
				return fmt.Errorf("run %d: no application has the pseudonym %s", id, a.Student)
			}
			if err := yield(postgres.Assignment{ApplicationID: app, Pseudonym: a.Student, School: a.School,
				ChoiceRank: a.ChoiceRank, Via: string(a.Via), DistanceKm: a.DistanceKm, Lottery: lotteryOf(res, a),
				Explanations: x.AppendJSON(nil, i)}); err != nil {
				return err
			}
		}
		for _, k := range kept {
			if err := yield(k); err != nil {
				return err
			}
		}
		return nil
	}
	return db.Publish(ctx, id, p, check)
}

// lotteryOf returns the lottery number (hex) a's child drew in res: the one
// it drew for its school under a multiple tie-break.
func lotteryOf(res *allocation.Result, a *allocation.Assignment) string {
	var d [32]byte
	if res.TieBreak != allocation.TieBreakMultiple || a.School == "" {
		d = allocation.LotteryDigest(res.Seed, a.Student)
	} else {
		d = allocation.LotteryDigestAt(res.Seed, a.School, a.Student)
	}
	return hex.EncodeToString(d[:])
}

// missedOf returns the applications placed by round 1, still unconfirmed,
// in the run's scope: those whose seats a round-2 run made after the
// deadline freed.
func missedOf(ctx context.Context, db *postgres.DB, r postgres.Run) ([]string, error) {
	offers, err := db.ScopeOffers(ctx, r.Scope, r.Level, r.SchoolYear)
	if err != nil {
		return nil, err
	}
	in := map[string]bool{}
	for _, o := range offers {
		in[o.Code] = true
	}
	apps, err := db.PlacementApplicants(ctx, r.Level, r.SchoolYear, []enrollment.Status{enrollment.StatusPlaced})
	if err != nil {
		return nil, err
	}
	var out []string
	for _, a := range apps {
		if len(a.Choices) > 0 && in[a.Choices[0]] {
			out = append(out, a.ID)
		}
	}
	slices.Sort(out)
	return out, nil
}

// Differences are the children whose school differs between runs.
type Differences struct {
	// Count counts them: a child with another school in some run, or
	// left out of some run.
	Count int
	// Sample holds up to the number asked of their pseudonyms, smallest
	// first, and Schools, by pseudonym of the sample, the school each run
	// gives it ("" for none, or for a run that leaves it out).
	Sample  []string
	Schools map[string][]string
}

// Compare finds the children whose school differs between the runs ids
// (all of one level and year), placing each run's instance again.
func Compare(ctx context.Context, db *postgres.DB, ids []int64, sample int) (Differences, error) {
	type line struct {
		schools []string
		runs    int
	}
	lines := map[string]*line{}
	at := func(j int, pseudonym, school string) {
		l := lines[pseudonym]
		if l == nil {
			l = &line{schools: make([]string, len(ids))}
			lines[pseudonym] = l
		}
		l.schools[j] = school
		l.runs++
	}
	for j, id := range ids {
		res, err := Result(ctx, db, id)
		if err != nil {
			return Differences{}, err
		}
		for i := range res.Assignments {
			at(j, res.Assignments[i].Student, res.Assignments[i].School)
		}
		kept, err := db.RunKept(ctx, id)
		if err != nil {
			return Differences{}, err
		}
		for _, k := range kept {
			at(j, k.Pseudonym, k.School)
		}
	}
	var differ []string
	for p, l := range lines {
		if l.runs < len(ids) || slices.ContainsFunc(l.schools, func(s string) bool { return s != l.schools[0] }) {
			differ = append(differ, p)
		}
	}
	slices.Sort(differ)
	d := Differences{Count: len(differ), Sample: differ[:min(sample, len(differ))], Schools: map[string][]string{}}
	if d.Sample == nil {
		d.Sample = []string{}
	}
	for _, p := range d.Sample {
		d.Schools[p] = lines[p].schools
	}
	return d, nil
}
