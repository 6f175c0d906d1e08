package postgres

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"time"

	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"

	"github.com/tuyensinh/tuyensinh/enrollment"
)

// Reference data edited by the authorities: quotas (school_offers),
// catchments (catchment_zones), windows and placement policies.
//
// Every change is written with its audit row in reference_events (who,
// what before, what after) in the same transaction, so there is never a
// change without its audit nor an audit of a change that did not happen.
// A change that changes nothing writes nothing.
//
// A quota or catchment of a level and school year that already has a
// published placement run is frozen: the published result was computed
// from it, and anyone must be able to check that result against the data
// it came from. Editing it answers CodeConflict.
//
// Concurrency. Each edit runs at read committed and first takes a
// transaction-scoped advisory lock on the object it edits (copies take
// theirs in school order), so two edits of one object run one after the
// other and the audit's "before" is always the previous "after". The
// frozen check reads the level-year's placement runs FOR SHARE: a publish
// (which updates a run's status) that is under way makes the edit wait for
// it and then see it, and an edit under way makes a publish wait until the
// edit is committed.
// Kinds of reference_events rows written here.
const (
	EventOffer     = "offer"     // a school's quota for a level and year; object "<school>/<level>/<year>"
	EventCatchment = "catchment" // a school's catchment zones; object "<school>/<level>/<year>"
	EventWindow    = "window"    // a registration window; object "<level>/<year>"
	EventPolicy    = "policy"    // an authority's placement policy; object "<authority>/<level>/<year>"
)

// OfferKey names one school's offer: the school, level and school year.
type OfferKey struct {
	School string
	Level  enrollment.Level
	Year   int
}

func (k OfferKey) object() string {
	return k.School + "/" + string(k.Level) + "/" + strconv.Itoa(k.Year)
}

// SchoolOffer is a school's quota and catchment for one level and year, as
// the officers' editor shows it. Frozen is true when a published placement
// run of the level and year exists: then neither may change.
type SchoolOffer struct {
	School     string            `json:"school"`
	Name       string            `json:"name"`
	Ward       string            `json:"ward"`
	Level      enrollment.Level  `json:"level"`
	SchoolYear int               `json:"school_year"`
	Quota      int               `json:"quota"`
	Catchment  []enrollment.Zone `json:"catchment"`
	Frozen     bool              `json:"frozen"`
}

// Area limits a list to what a staff user covers: the schools of one
// authority's area (at any depth below it), one school, or everything
// when both are empty.
type Area struct {
	Authority string
	School    string
}

// areaCTE defines sub(code): the authority $1 and every authority below
// it. A query using it filters schools by ward w with areaWhere.
const (
	areaCTE = `
WITH RECURSIVE sub (code, depth) AS (
    SELECT CAST($1 AS text), 0
  UNION ALL
    SELECT a.code, sub.depth + 1 FROM authorities a JOIN sub ON a.parent_code = sub.code WHERE sub.depth < 16
)`
	areaWhere = `(CAST($1 AS text) = '' OR w.authority_code IN (SELECT code FROM sub))
    AND (CAST($2 AS text) = '' OR s.code = $2)`
)

// frozenError is the answer to an edit of a published level and year.
func frozenError(level enrollment.Level, year int) *enrollment.Error {
	return enrollment.Errorf(enrollment.CodeConflict,
		fmt.Sprintf("Kết quả tuyển sinh %s năm học %d-%d đã được công bố: chỉ tiêu và tuyến tuyển sinh của năm học này không thể sửa nữa", level.NameVI(), year, year+1),
		fmt.Sprintf("the placement of %s for school year %d has been published: its quotas and catchments can no longer change", level, year))
}

// ErrNoSchool is returned for a school code that no school has.
var ErrNoSchool = enrollment.Errorf(enrollment.CodeNotFound, "Không tìm thấy trường này", "no such school")

// errNoOffer is returned for an offer that does not exist.
func errNoOffer(k OfferKey) *enrollment.Error {
	return enrollment.Errorf(enrollment.CodeNotFound,
		fmt.Sprintf("Trường %s chưa có chỉ tiêu %s năm học %d-%d; hãy đặt chỉ tiêu trước", k.School, k.Level.NameVI(), k.Year, k.Year+1),
		fmt.Sprintf("school %s has no quota for %s in school year %d; set the quota first", k.School, k.Level, k.Year))
}

const qFrozen = `SELECT EXISTS (SELECT 1 FROM placement_runs WHERE level = $1 AND school_year = $2 AND status = 'published')`

// Frozen reports whether a placement run of the level and year has been
// published, which freezes its quotas and catchments.
func (d *DB) Frozen(ctx context.Context, level enrollment.Level, year int) (frozen bool, err error) {
	defer wrap(&err, "frozen %s %d", level, year)
	err = d.db.GetContext(ctx, &frozen, qFrozen, level, year)
	return frozen, err
}

func checkNotFrozen(ctx context.Context, tx *sqlx.Tx, level enrollment.Level, year int) error {
	const q = `SELECT status FROM placement_runs WHERE level = $1 AND school_year = $2 FOR SHARE`
	var statuses []string
	if err := tx.SelectContext(ctx, &statuses, q, level, year); err != nil {
		return err
	}
	if slices.Contains(statuses, "published") {
		return frozenError(level, year)
	}
	return nil
}

// lockObject takes the transaction's advisory lock on a reference object,
// so that its edits run one at a time.
func lockObject(ctx context.Context, tx *sqlx.Tx, kind, object string) error {
	_, err := tx.ExecContext(ctx, `SELECT pg_advisory_xact_lock(hashtextextended($1, 0))`, "reference/"+kind+"/"+object)
	return err
}

// zoneList scans a json array of {"ward","groups"} objects.
type zoneList []enrollment.Zone

func (z *zoneList) Scan(src any) error {
	var b []byte
	switch v := src.(type) {
	case []byte:
		b = v
	case string:
		b = []byte(v)
	case nil:
		*z = zoneList{}
		return nil
	default:
		return fmt.Errorf("zones: cannot scan %T", src)
	}
	if err := json.Unmarshal(b, (*[]enrollment.Zone)(z)); err != nil {
		return err
	}
	for i := range *z {
		if (*z)[i].Groups == nil {
			(*z)[i].Groups = []string{}
		}
	}
	return nil
}

const offerColumns = `
SELECT o.school_code, s.name, s.ward_code, o.level, o.school_year, o.quota,
       COALESCE((SELECT json_agg(json_build_object('ward', z.ward_code, 'groups', z.groups) ORDER BY z.ward_code)
                 FROM catchment_zones z
                 WHERE z.school_code = o.school_code AND z.level = o.level AND z.school_year = o.school_year), '[]'),
       EXISTS (SELECT 1 FROM placement_runs r WHERE r.level = o.level AND r.school_year = o.school_year AND r.status = 'published')
FROM school_offers o JOIN schools s ON s.code = o.school_code JOIN wards w ON w.code = s.ward_code`

func scanOffers(rows *sqlx.Rows) ([]SchoolOffer, error) {
	defer rows.Close()
	out := []SchoolOffer{}
	for rows.Next() {
		var o SchoolOffer
		var zones zoneList
		if err := rows.Scan(&o.School, &o.Name, &o.Ward, &o.Level, &o.SchoolYear, &o.Quota, &zones, &o.Frozen); err != nil {
			return nil, err
		}
		o.Catchment = zones
		out = append(out, o)
	}
	return out, rows.Err()
}

type queryer interface {
	QueryxContext(ctx context.Context, query string, args ...any) (*sqlx.Rows, error)
}

func offer(ctx context.Context, q queryer, k OfferKey) (SchoolOffer, bool, error) {
	const qOffer = offerColumns + `
WHERE o.school_code = $1 AND o.level = $2 AND o.school_year = $3`
	rows, err := q.QueryxContext(ctx, qOffer, k.School, k.Level, k.Year)
	if err != nil {
		return SchoolOffer{}, false, err
	}
	list, err := scanOffers(rows)
	if err != nil || len(list) == 0 {
		return SchoolOffer{}, false, err
	}
	return list[0], true, nil
}

// Offer returns a school's offer for a level and year. It returns
// CodeNotFound when the school has none.
func (d *DB) Offer(ctx context.Context, k OfferKey) (o SchoolOffer, err error) {
	defer wrap(&err, "offer %s", k.object())
	o, ok, err := offer(ctx, d.db, k)
	if err == nil && !ok {
		err = errNoOffer(k)
	}
	return o, err
}

// Offers lists the offers of a level and year of the schools in area,
// by school code.
func (d *DB) Offers(ctx context.Context, level enrollment.Level, year int, area Area) (list []SchoolOffer, err error) {
	defer wrap(&err, "offers %s %d", level, year)
	q := areaCTE + offerColumns + `
WHERE ` + areaWhere + ` AND o.level = $3 AND o.school_year = $4
ORDER BY o.school_code`
	rows, err := d.db.QueryxContext(ctx, q, area.Authority, area.School, level, year)
	if err != nil {
		return nil, err
	}
	return scanOffers(rows)
}

// audit writes one reference_events row in tx.
func audit(ctx context.Context, tx *sqlx.Tx, actor enrollment.Actor, kind, object string, before, after any) error {
	// at is the moment of the change (after the object's lock was had),
	// not the transaction's start: the audit reads in the order of changes.
	const q = `INSERT INTO reference_events (actor, actor_role, kind, object, before, after, at) VALUES ($1, $2, $3, $4, $5, $6, clock_timestamp())`
	enc := func(v any) (any, error) {
		if v == nil {
			return nil, nil
		}
		b, err := json.Marshal(v)
		return string(b), err
	}
	b, err := enc(before)
	if err != nil {
		return err
	}
	a, err := enc(after)
	if err != nil {
		return err
	}
	_, err = tx.ExecContext(ctx, q, actor.Name, string(actor.Role), kind, object, b, a)
	return err
}

// quotaState is what the audit keeps of a quota.
type quotaState struct {
	Quota int `json:"quota"`
}

// catchmentState is what the audit keeps of a catchment.
type catchmentState struct {
	Catchment []enrollment.Zone `json:"catchment"`
}

func schoolExists(ctx context.Context, tx *sqlx.Tx, code string) error {
	var ok bool
	if err := tx.GetContext(ctx, &ok, `SELECT EXISTS (SELECT 1 FROM schools WHERE code = $1)`, code); err != nil {
		return err
	}
	if !ok {
		return ErrNoSchool
	}
	return nil
}

// SetQuota sets a school's quota for a level and year, creating the offer
// (with no catchment) when the school had none, and audits the change. It
// returns the offer as it now is; CodeNotFound for an unknown school,
// CodeConflict when the level and year are frozen.
func (d *DB) SetQuota(ctx context.Context, k OfferKey, quota int, actor enrollment.Actor) (o SchoolOffer, err error) {
	defer wrap(&err, "set quota %s", k.object())
	err = d.Transact(ctx, 0, func(tx *sqlx.Tx) error {
		if err := lockObject(ctx, tx, "offer", k.object()); err != nil {
			return err
		}
		if err := schoolExists(ctx, tx, k.School); err != nil {
			return err
		}
		if err := checkNotFrozen(ctx, tx, k.Level, k.Year); err != nil {
			return err
		}
		old, had, err := offer(ctx, tx, k)
		if err != nil {
			return err
		}
		if had && old.Quota == quota {
			o = old
			return nil
		}
		const q = `
INSERT INTO school_offers (school_code, level, school_year, quota) VALUES ($1, $2, $3, $4)
ON CONFLICT (school_code, level, school_year) DO UPDATE SET quota = excluded.quota`
		if _, err := tx.ExecContext(ctx, q, k.School, k.Level, k.Year, quota); err != nil {
			return err
		}
		var before any
		if had {
			before = quotaState{old.Quota}
		}
		if err := audit(ctx, tx, actor, EventOffer, k.object(), before, quotaState{quota}); err != nil {
			return err
		}
		o, _, err = offer(ctx, tx, k)
		return err
	})
	return o, err
}

// wardGroups returns the residential groups of every ward named in zones.
func wardGroups(ctx context.Context, tx *sqlx.Tx, zones []enrollment.Zone) (map[string][]string, error) {
	codes := make([]string, 0, len(zones))
	for _, z := range zones {
		codes = append(codes, z.Ward)
	}
	rows, err := tx.QueryContext(ctx, `SELECT code, groups FROM wards WHERE code = ANY($1)`, pq.Array(codes))
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	out := make(map[string][]string)
	for rows.Next() {
		var code string
		var groups []string
		if err := rows.Scan(&code, pq.Array(&groups)); err != nil {
			return nil, err
		}
		out[code] = groups
	}
	return out, rows.Err()
}

// CheckZones returns an *enrollment.Error (CodeInvalid) naming every zone
// that is not a ward of wards, repeats a ward, or lists a residential
// group its ward does not have or lists one twice; nil when all are right.
// wards maps each known ward code to its groups.
func CheckZones(zones []enrollment.Zone, wards map[string][]string) error {
	var problems []enrollment.Problem
	seen := make(map[string]bool)
	for i, z := range zones {
		field := fmt.Sprintf("catchment[%d]", i)
		groups, ok := wards[z.Ward]
		switch {
		case z.Ward == "":
			problems = append(problems, enrollment.Problem{Field: field + ".ward", Message: "Thiếu mã phường/xã", MessageEN: "the ward code is missing"})
			continue
		case !ok:
			problems = append(problems, enrollment.Problem{Field: field + ".ward",
				Message: fmt.Sprintf("Không có phường/xã mã %q", z.Ward), MessageEN: fmt.Sprintf("no ward has the code %q", z.Ward)})
			continue
		case seen[z.Ward]:
			problems = append(problems, enrollment.Problem{Field: field + ".ward",
				Message:   fmt.Sprintf("Phường/xã %s đã có trong tuyến; gộp các tổ dân phố vào một dòng", z.Ward),
				MessageEN: fmt.Sprintf("ward %s is listed twice; put its groups in one zone", z.Ward)})
			continue
		}
		seen[z.Ward] = true
		inZone := make(map[string]bool)
		for j, g := range z.Groups {
			gf := fmt.Sprintf("%s.groups[%d]", field, j)
			switch {
			case !slices.Contains(groups, g):
				problems = append(problems, enrollment.Problem{Field: gf,
					Message:   fmt.Sprintf("Phường/xã %s không có tổ dân phố %q", z.Ward, g),
					MessageEN: fmt.Sprintf("ward %s has no residential group %q", z.Ward, g)})
			case inZone[g]:
				problems = append(problems, enrollment.Problem{Field: gf,
					Message: fmt.Sprintf("Tổ dân phố %q bị lặp lại", g), MessageEN: fmt.Sprintf("residential group %q is listed twice", g)})
			}
			inZone[g] = true
		}
	}
	if len(problems) == 0 {
		return nil
	}
	return &enrollment.Error{Code: enrollment.CodeInvalid,
		Message:   "Tuyến tuyển sinh chưa hợp lệ, vui lòng sửa các mục được nêu",
		MessageEN: "the catchment is not valid; please correct the zones listed", Problems: problems}
}

// normalZones sorts zones by ward and their groups, with an empty (not
// nil) group list for a whole ward, as the database returns them.
func normalZones(zones []enrollment.Zone) []enrollment.Zone {
	out := make([]enrollment.Zone, len(zones))
	for i, z := range zones {
		g := slices.Clone(z.Groups)
		if g == nil {
			g = []string{}
		}
		slices.Sort(g)
		out[i] = enrollment.Zone{Ward: z.Ward, Groups: g}
	}
	slices.SortFunc(out, func(a, b enrollment.Zone) int {
		switch {
		case a.Ward < b.Ward:
			return -1
		case a.Ward > b.Ward:
			return 1
		}
		return 0
	})
	return out
}

func sameZones(a, b []enrollment.Zone) bool {
	return slices.EqualFunc(a, b, func(x, y enrollment.Zone) bool { return x.Ward == y.Ward && slices.Equal(x.Groups, y.Groups) })
}

func replaceZones(ctx context.Context, tx *sqlx.Tx, k OfferKey, zones []enrollment.Zone) error {
	if _, err := tx.ExecContext(ctx, `DELETE FROM catchment_zones WHERE school_code = $1 AND level = $2 AND school_year = $3`,
		k.School, k.Level, k.Year); err != nil {
		return err
	}
	const q = `INSERT INTO catchment_zones (school_code, level, school_year, ward_code, groups) VALUES ($1, $2, $3, $4, $5)`
	for _, z := range zones {
		if _, err := tx.ExecContext(ctx, q, k.School, k.Level, k.Year, z.Ward, pq.Array(z.Groups)); err != nil {
			return err
		}
	}
	return nil
}

// SetCatchment replaces a school's catchment for a level and year: each
// zone a whole ward (no groups) or some residential groups of a ward. It
// checks the zones against the wards (CheckZones), audits the change and
// returns the offer as it now is. CodeNotFound when the school has no
// offer for the level and year (set its quota first); CodeConflict when
// the level and year are frozen; CodeInvalid naming each bad zone.
func (d *DB) SetCatchment(ctx context.Context, k OfferKey, zones []enrollment.Zone, actor enrollment.Actor) (o SchoolOffer, err error) {
	defer wrap(&err, "set catchment %s", k.object())
	zones = normalZones(zones)
	err = d.Transact(ctx, 0, func(tx *sqlx.Tx) error {
		if err := lockObject(ctx, tx, "offer", k.object()); err != nil {
			return err
		}
		if err := schoolExists(ctx, tx, k.School); err != nil {
			return err
		}
		old, had, err := offer(ctx, tx, k)
		if err != nil {
			return err
		}
		if !had {
			return errNoOffer(k)
		}
		if err := checkNotFrozen(ctx, tx, k.Level, k.Year); err != nil {
			return err
		}
		wards, err := wardGroups(ctx, tx, zones)
		if err != nil {
			return err
		}
		if err := CheckZones(zones, wards); err != nil {
			return err
		}
		if sameZones(old.Catchment, zones) {
			o = old
			return nil
		}
		if err := replaceZones(ctx, tx, k, zones); err != nil {
			return err
		}
		if err := audit(ctx, tx, actor, EventCatchment, k.object(), catchmentState{old.Catchment}, catchmentState{zones}); err != nil {
			return err
		}
		o, _, err = offer(ctx, tx, k)
		return err
	})
	return o, err
}

// CopyResult says what CopyCatchments did.
type CopyResult struct {
	// Copied lists the schools whose catchment changed, by code.
	Copied []string `json:"copied"`
	// Unchanged counts the schools whose catchment was already the same.
	Unchanged int `json:"unchanged"`
	// Created lists the schools that had no offer in the target year and
	// were given last year's quota with the catchment.
	Created []string `json:"created"`
}

// CopyCatchments copies the catchments of a level from one school year to
// another for every school in area that had an offer in the first: the
// target year's catchment is replaced by the source year's, in one
// transaction, each changed school audited. A school with no offer in the
// target year gets the source year's quota too (a catchment belongs to an
// offer), audited as well. CodeConflict when the target year is frozen.
func (d *DB) CopyCatchments(ctx context.Context, level enrollment.Level, from, to int, area Area, actor enrollment.Actor) (res CopyResult, err error) {
	defer wrap(&err, "copy catchments %s %d to %d", level, from, to)
	err = d.Transact(ctx, 0, func(tx *sqlx.Tx) error {
		res = CopyResult{Copied: []string{}, Created: []string{}}
		if err := checkNotFrozen(ctx, tx, level, to); err != nil {
			return err
		}
		q := areaCTE + offerColumns + `
WHERE ` + areaWhere + ` AND o.level = $3 AND o.school_year = $4
ORDER BY o.school_code`
		rows, err := tx.QueryxContext(ctx, q, area.Authority, area.School, level, from)
		if err != nil {
			return err
		}
		sources, err := scanOffers(rows)
		if err != nil {
			return err
		}
		for _, src := range sources {
			k := OfferKey{School: src.School, Level: level, Year: to}
			if err := lockObject(ctx, tx, "offer", k.object()); err != nil {
				return err
			}
			old, had, err := offer(ctx, tx, k)
			if err != nil {
				return err
			}
			if !had {
				if _, err := tx.ExecContext(ctx, `INSERT INTO school_offers (school_code, level, school_year, quota) VALUES ($1, $2, $3, $4)`,
					k.School, k.Level, k.Year, src.Quota); err != nil {
					return err
				}
				if err := audit(ctx, tx, actor, EventOffer, k.object(), nil, quotaState{src.Quota}); err != nil {
					return err
				}
				res.Created = append(res.Created, k.School)
				old.Catchment = []enrollment.Zone{}
			}
			zones := normalZones(src.Catchment)
			if sameZones(old.Catchment, zones) {
				res.Unchanged++
				continue
			}
			if err := replaceZones(ctx, tx, k, zones); err != nil {
				return err
			}
			if err := audit(ctx, tx, actor, EventCatchment, k.object(), catchmentState{old.Catchment}, catchmentState{zones}); err != nil {
				return err
			}
			res.Copied = append(res.Copied, k.School)
		}
		return nil
	})
	return res, err
}

// WindowSettings is what the city sets of a registration window. The
// birth year is the level's (enrollment.Level.BirthYear) when a window is
// created, and kept when one is edited; verification against the
// population register is kept as it is.
type WindowSettings struct {
	Level      enrollment.Level `json:"level"`
	SchoolYear int              `json:"school_year"`
	OpensAt    time.Time        `json:"opens_at"`
	ClosesAt   time.Time        `json:"closes_at"`
	MaxChoices int              `json:"max_choices"`
	// ConfirmBy is the last moment a parent may confirm a first-round
	// seat; nil when not set yet.
	ConfirmBy *time.Time `json:"confirm_by"`
	// BirthYear and VerifyRegistry are shown, not set, here.
	BirthYear      int  `json:"birth_year"`
	VerifyRegistry bool `json:"verify_registry"`
}

const qWindows = `
SELECT level, school_year, opens_at, closes_at, max_choices, confirm_by, birth_year, verify_registry FROM windows`

func scanWindows(rows *sql.Rows) ([]WindowSettings, error) {
	defer rows.Close()
	out := []WindowSettings{}
	for rows.Next() {
		var w WindowSettings
		var confirm sql.NullTime
		if err := rows.Scan(&w.Level, &w.SchoolYear, &w.OpensAt, &w.ClosesAt, &w.MaxChoices, &confirm, &w.BirthYear, &w.VerifyRegistry); err != nil {
			return nil, err
		}
		w.OpensAt, w.ClosesAt = w.OpensAt.UTC(), w.ClosesAt.UTC()
		if confirm.Valid {
			t := confirm.Time.UTC()
			w.ConfirmBy = &t
		}
		out = append(out, w)
	}
	return out, rows.Err()
}

// Windows lists every registration window, the latest school year first.
func (d *DB) Windows(ctx context.Context) (list []WindowSettings, err error) {
	defer wrap(&err, "windows")
	rows, err := d.db.QueryContext(ctx, qWindows+` ORDER BY school_year DESC, opens_at, level`)
	if err != nil {
		return nil, err
	}
	return scanWindows(rows)
}

// windowState is what the audit keeps of a window.
type windowState struct {
	OpensAt    time.Time  `json:"opens_at"`
	ClosesAt   time.Time  `json:"closes_at"`
	MaxChoices int        `json:"max_choices"`
	ConfirmBy  *time.Time `json:"confirm_by"`
}

func (w WindowSettings) state() windowState {
	return windowState{w.OpensAt.UTC(), w.ClosesAt.UTC(), w.MaxChoices, w.ConfirmBy}
}

// SetWindow creates or edits the window of w.Level and w.SchoolYear and
// audits the change; it returns the window as it now is. The caller has
// checked w (web's checkWindow): the table's own checks are the last line.
func (d *DB) SetWindow(ctx context.Context, w WindowSettings, actor enrollment.Actor) (out WindowSettings, err error) {
	defer wrap(&err, "set window %s %d", w.Level, w.SchoolYear)
	object := string(w.Level) + "/" + strconv.Itoa(w.SchoolYear)
	err = d.Transact(ctx, 0, func(tx *sqlx.Tx) error {
		if err := lockObject(ctx, tx, EventWindow, object); err != nil {
			return err
		}
		load := func() ([]WindowSettings, error) {
			rows, err := tx.QueryContext(ctx, qWindows+` WHERE level = $1 AND school_year = $2`, w.Level, w.SchoolYear)
			if err != nil {
				return nil, err
			}
			return scanWindows(rows)
		}
		old, err := load()
		if err != nil {
			return err
		}
		var before any
		if len(old) == 1 {
			st := old[0].state()
			if sameWindow(st, w.state()) {
				out = old[0]
				return nil
			}
			before = st
		}
		const q = `
INSERT INTO windows (level, school_year, opens_at, closes_at, birth_year, max_choices, confirm_by)
VALUES ($1, $2, $3, $4, $5, $6, $7)
ON CONFLICT (level, school_year) DO UPDATE SET opens_at = excluded.opens_at, closes_at = excluded.closes_at,
    max_choices = excluded.max_choices, confirm_by = excluded.confirm_by`
		if _, err := tx.ExecContext(ctx, q, w.Level, w.SchoolYear, w.OpensAt, w.ClosesAt, w.Level.BirthYear(w.SchoolYear), w.MaxChoices, w.ConfirmBy); err != nil {
			return err
		}
		if err := audit(ctx, tx, actor, EventWindow, object, before, w.state()); err != nil {
			return err
		}
		now, err := load()
		if err != nil {
			return err
		}
		out = now[0]
		return nil
	})
	return out, err
}

func sameWindow(a, b windowState) bool {
	sameConfirm := (a.ConfirmBy == nil) == (b.ConfirmBy == nil) && (a.ConfirmBy == nil || a.ConfirmBy.Equal(*b.ConfirmBy))
	return a.OpensAt.Equal(b.OpensAt) && a.ClosesAt.Equal(b.ClosesAt) && a.MaxChoices == b.MaxChoices && sameConfirm
}

// Policy is how an authority places a level in a school year: the
// engine's ordered priority rules (allocation/doc.go), the mechanism, the
// tie-break and whether guaranteed children left without a seat are placed
// administratively (điều tiết).
type Policy struct {
	Authority               string           `json:"authority"`
	Level                   enrollment.Level `json:"level"`
	SchoolYear              int              `json:"school_year"`
	PriorityRules           []string         `json:"priority_rules"`
	Mechanism               string           `json:"mechanism"`
	TieBreak                string           `json:"tie_break"`
	AdministrativePlacement bool             `json:"administrative_placement"`
	// Source is the authority whose row this is: Authority itself, an
	// authority above it whose policy applies while Authority has none,
	// or "" for the defaults (no row anywhere up the tree).
	Source string `json:"source"`
}

// DefaultPriorityRules are the rules of a level and year for which no
// authority up the tree set a policy: in-catchment children of priority
// group 1 first, then ĐT1, ĐT2 and ĐT3 (DOMAIN.md), everyone else after.
var DefaultPriorityRules = []string{"in_catchment+group1", "dt1", "dt2", "dt3"}

// ErrNoAuthority is returned for an authority code no authority has.
var ErrNoAuthority = enrollment.Errorf(enrollment.CodeNotFound, "Không tìm thấy cơ quan quản lý này", "no such authority")

const qChain = `
WITH RECURSIVE chain (code, parent_code, depth) AS (
    SELECT code, parent_code, 0 FROM authorities WHERE code = $1
  UNION ALL
    SELECT a.code, a.parent_code, c.depth + 1 FROM authorities a JOIN chain c ON a.code = c.parent_code WHERE c.depth < 16
)
SELECT code FROM chain ORDER BY depth`

// AuthorityChain returns the authority and those above it, nearest first;
// ErrNoAuthority when there is no such authority.
func (d *DB) AuthorityChain(ctx context.Context, code string) (chain []string, err error) {
	defer wrap(&err, "authority chain %s", code)
	if err := d.db.SelectContext(ctx, &chain, qChain, code); err != nil {
		return nil, err
	}
	if len(chain) == 0 {
		return nil, ErrNoAuthority
	}
	return chain, nil
}

type policyRow struct {
	Authority     string         `db:"authority_code"`
	Rules         pq.StringArray `db:"priority_rules"`
	Mechanism     string         `db:"mechanism"`
	TieBreak      string         `db:"tie_break"`
	Administative bool           `db:"administrative_placement"`
}

// Policy returns the policy that applies to an authority's level and
// year: its own, else the nearest authority's above it, else the defaults
// (DefaultPriorityRules, deferred acceptance, single tie-break, administrative
// placement on). ErrNoAuthority for an unknown authority.
func (d *DB) Policy(ctx context.Context, authority string, level enrollment.Level, year int) (p Policy, err error) {
	defer wrap(&err, "policy %s %s %d", authority, level, year)
	return policy(ctx, d.db, authority, level, year)
}

func policy(ctx context.Context, q sqlx.QueryerContext, authority string, level enrollment.Level, year int) (Policy, error) {
	var chain []string
	if err := sqlx.SelectContext(ctx, q, &chain, qChain, authority); err != nil {
		return Policy{}, err
	}
	if len(chain) == 0 {
		return Policy{}, ErrNoAuthority
	}
	p := Policy{Authority: authority, Level: level, SchoolYear: year, PriorityRules: slices.Clone(DefaultPriorityRules),
		Mechanism: "da", TieBreak: "single", AdministrativePlacement: true}
	const qRows = `
SELECT authority_code, priority_rules, mechanism, tie_break, administrative_placement
FROM placement_policies WHERE authority_code = ANY($1) AND level = $2 AND school_year = $3`
	var rows []policyRow
	if err := sqlx.SelectContext(ctx, q, &rows, qRows, pq.Array(chain), level, year); err != nil {
		return Policy{}, err
	}
	for _, code := range chain {
		i := slices.IndexFunc(rows, func(r policyRow) bool { return r.Authority == code })
		if i < 0 {
			continue
		}
		r := rows[i]
		p.Source, p.Mechanism, p.TieBreak, p.AdministrativePlacement = r.Authority, r.Mechanism, r.TieBreak, r.Administative
		p.PriorityRules = []string(r.Rules)
		if p.PriorityRules == nil {
			p.PriorityRules = []string{}
		}
		break
	}
	return p, nil
}

// policyState is what the audit keeps of a policy.
type policyState struct {
	PriorityRules           []string `json:"priority_rules"`
	Mechanism               string   `json:"mechanism"`
	TieBreak                string   `json:"tie_break"`
	AdministrativePlacement bool     `json:"administrative_placement"`
}

func (p Policy) state() policyState {
	return policyState{p.PriorityRules, p.Mechanism, p.TieBreak, p.AdministrativePlacement}
}

// SetPolicy stores an authority's own policy for a level and year (the
// caller has checked the rules with the engine's parser) and audits the
// change; the audit's before is the authority's own row, null when it had
// none. It returns the policy as it now applies. ErrNoAuthority for an
// unknown authority.
func (d *DB) SetPolicy(ctx context.Context, p Policy, actor enrollment.Actor) (out Policy, err error) {
	defer wrap(&err, "set policy %s %s %d", p.Authority, p.Level, p.SchoolYear)
	if p.PriorityRules == nil {
		p.PriorityRules = []string{}
	}
	object := p.Authority + "/" + string(p.Level) + "/" + strconv.Itoa(p.SchoolYear)
	err = d.Transact(ctx, 0, func(tx *sqlx.Tx) error {
		if err := lockObject(ctx, tx, EventPolicy, object); err != nil {
			return err
		}
		old, err := policy(ctx, tx, p.Authority, p.Level, p.SchoolYear)
		if err != nil {
			return err
		}
		var before any
		if old.Source == p.Authority {
			if slices.Equal(old.PriorityRules, p.PriorityRules) && old.Mechanism == p.Mechanism &&
				old.TieBreak == p.TieBreak && old.AdministrativePlacement == p.AdministrativePlacement {
				out = old
				return nil
			}
			before = old.state()
		}
		const q = `
INSERT INTO placement_policies (authority_code, level, school_year, priority_rules, mechanism, tie_break, administrative_placement)
VALUES ($1, $2, $3, $4, $5, $6, $7)
ON CONFLICT (authority_code, level, school_year) DO UPDATE SET priority_rules = excluded.priority_rules,
    mechanism = excluded.mechanism, tie_break = excluded.tie_break, administrative_placement = excluded.administrative_placement`
		if _, err := tx.ExecContext(ctx, q, p.Authority, p.Level, p.SchoolYear, pq.Array(p.PriorityRules), p.Mechanism, p.TieBreak, p.AdministrativePlacement); err != nil {
			return err
		}
		if err := audit(ctx, tx, actor, EventPolicy, object, before, p.state()); err != nil {
			return err
		}
		out, err = policy(ctx, tx, p.Authority, p.Level, p.SchoolYear)
		return err
	})
	return out, err
}

// RefEvent is one row of the reference data audit.
type RefEvent struct {
	ID        int64           `json:"id" db:"id"`
	Actor     string          `json:"actor" db:"actor"`
	ActorRole string          `json:"actor_role" db:"actor_role"`
	Kind      string          `json:"kind" db:"kind"`
	Object    string          `json:"object" db:"object"`
	Before    json.RawMessage `json:"before" db:"before"`
	After     json.RawMessage `json:"after" db:"after"`
	At        time.Time       `json:"at" db:"at"`
}

// SchoolEvents returns the audit of a school's quotas and catchments,
// newest first, at most limit rows.
func (d *DB) SchoolEvents(ctx context.Context, school string, limit int) (list []RefEvent, err error) {
	defer wrap(&err, "reference events of %s", school)
	const q = `
SELECT id, actor, actor_role, kind, object, COALESCE(before, 'null') AS before, COALESCE(after, 'null') AS after, at
FROM reference_events
WHERE kind IN ('offer', 'catchment') AND left(object, length($1) + 1) = $1 || '/'
ORDER BY id DESC LIMIT $2`
	list = []RefEvent{}
	if err := d.db.SelectContext(ctx, &list, q, school, limit); err != nil {
		return nil, err
	}
	for i := range list {
		list[i].At = list[i].At.UTC()
	}
	return list, nil
}

// IsNotFound reports whether err is a CodeNotFound *enrollment.Error.
func IsNotFound(err error) bool {
	var e *enrollment.Error
	return errors.As(err, &e) && e.Code == enrollment.CodeNotFound
}
