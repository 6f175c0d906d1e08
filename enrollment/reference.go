package enrollment

import (
	"context"
	"fmt"

	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"
)

// Authority is a body that sets quotas and catchments and runs placement:
// a city, a district or a ward/commune People's Committee.
type Authority struct {
	Code       string `json:"code"`
	Name       string `json:"name"`
	Kind       string `json:"kind"` // city, district or ward
	ParentCode string `json:"parent_code,omitempty"`
}

// Reference is an authority's reference data: its wards, the schools'
// offers (quota and catchment per level and year) and the windows.
type Reference struct {
	Authority Authority
	Wards     []Ward
	Offers    []Offer
	Windows   []Window
}

// SaveReference writes reference data in one transaction, replacing what
// is there for the same keys; running it twice changes nothing.
func (s *Store) SaveReference(ctx context.Context, ref Reference) error {
	return s.Transact(ctx, func(tx *sqlx.Tx) error {
		a := ref.Authority
		const qAuth = `
INSERT INTO authorities (code, name, kind, parent_code) VALUES ($1, $2, $3, NULLIF($4, ''))
ON CONFLICT (code) DO UPDATE SET name = excluded.name, kind = excluded.kind, parent_code = excluded.parent_code`
		if _, err := tx.ExecContext(ctx, qAuth, a.Code, a.Name, a.Kind, a.ParentCode); err != nil {
			return fmt.Errorf("save authority %s: %w", a.Code, err)
		}
		const qWard = `
INSERT INTO wards (code, name, kind, authority_code, groups, lat, lon) VALUES ($1, $2, $3, $4, $5, $6, $7)
ON CONFLICT (code) DO UPDATE SET name = excluded.name, kind = excluded.kind, authority_code = excluded.authority_code,
    groups = excluded.groups, lat = excluded.lat, lon = excluded.lon`
		for _, w := range ref.Wards {
			if _, err := tx.ExecContext(ctx, qWard, w.Code, w.Name, w.Kind, a.Code, pq.Array(w.Groups), w.Lat, w.Lon); err != nil {
				return fmt.Errorf("save ward %s: %w", w.Code, err)
			}
		}
		const (
			qSchool = `
INSERT INTO schools (code, name, ward_code, address, lat, lon) VALUES ($1, $2, $3, $4, $5, $6)
ON CONFLICT (code) DO UPDATE SET name = excluded.name, ward_code = excluded.ward_code, address = excluded.address,
    lat = excluded.lat, lon = excluded.lon`
			qOffer = `
INSERT INTO school_offers (school_code, level, school_year, quota) VALUES ($1, $2, $3, $4)
ON CONFLICT (school_code, level, school_year) DO UPDATE SET quota = excluded.quota`
			qClear = `DELETE FROM catchment_zones WHERE school_code = $1 AND level = $2 AND school_year = $3`
			qZone  = `INSERT INTO catchment_zones (school_code, level, school_year, ward_code, groups) VALUES ($1, $2, $3, $4, $5)`
		)
		for _, o := range ref.Offers {
			if _, err := tx.ExecContext(ctx, qSchool, o.SchoolCode, o.Name, o.Ward, o.Address, o.Lat, o.Lon); err != nil {
				return fmt.Errorf("save school %s: %w", o.SchoolCode, err)
			}
			if _, err := tx.ExecContext(ctx, qOffer, o.SchoolCode, o.Level, o.SchoolYear, o.Quota); err != nil {
				return fmt.Errorf("save offer %s %s %d: %w", o.SchoolCode, o.Level, o.SchoolYear, err)
			}
			if _, err := tx.ExecContext(ctx, qClear, o.SchoolCode, o.Level, o.SchoolYear); err != nil {
				return fmt.Errorf("save catchment of %s: %w", o.SchoolCode, err)
			}
			for _, z := range o.Catchment {
				groups := z.Groups
				if groups == nil {
					groups = []string{}
				}
				if _, err := tx.ExecContext(ctx, qZone, o.SchoolCode, o.Level, o.SchoolYear, z.Ward, pq.Array(groups)); err != nil {
					return fmt.Errorf("save catchment of %s, ward %s: %w", o.SchoolCode, z.Ward, err)
				}
			}
		}
		const qWindow = `
INSERT INTO windows (level, school_year, opens_at, closes_at, birth_year, max_choices, verify_registry)
VALUES ($1, $2, $3, $4, $5, $6, $7)
ON CONFLICT (level, school_year) DO UPDATE SET opens_at = excluded.opens_at, closes_at = excluded.closes_at,
    birth_year = excluded.birth_year, max_choices = excluded.max_choices, verify_registry = excluded.verify_registry`
		for _, w := range ref.Windows {
			if _, err := tx.ExecContext(ctx, qWindow, w.Level, w.SchoolYear, w.OpensAt, w.ClosesAt, w.BirthYear, w.MaxChoices, w.VerifyRegistry); err != nil {
				return fmt.Errorf("save window %s %d: %w", w.Level, w.SchoolYear, err)
			}
		}
		return nil
	})
}
