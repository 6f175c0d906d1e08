package postgres

import (
	"context"
	"encoding/json"
	"fmt"

	"github.com/jmoiron/sqlx"
	"github.com/lib/pq"

	"github.com/tuyensinh/tuyensinh/enrollment"
)

// LoadCatalog reads windows, wards and school offers with their catchments.
func (d *DB) LoadCatalog(ctx context.Context) (_ *enrollment.Catalog, err error) {
	defer wrap(&err, "load catalog")
	const qWindows = `SELECT level, school_year, opens_at, closes_at, birth_year, max_choices, verify_registry, confirm_by FROM windows`
	var windows []enrollment.Window
	if err := d.db.SelectContext(ctx, &windows, qWindows); err != nil {
		return nil, fmt.Errorf("load windows: %w", err)
	}
	for i := range windows {
		windows[i].OpensAt = windows[i].OpensAt.UTC()
		windows[i].ClosesAt = windows[i].ClosesAt.UTC()
		if t := windows[i].ConfirmBy; t != nil {
			u := t.UTC()
			windows[i].ConfirmBy = &u
		}
	}

	const qWards = `SELECT code, name, kind, groups FROM wards ORDER BY code`
	rows, err := d.db.QueryContext(ctx, qWards)
	if err != nil {
		return nil, fmt.Errorf("load wards: %w", err)
	}
	var wards []enrollment.Ward
	for rows.Next() {
		var w enrollment.Ward
		if err := rows.Scan(&w.Code, &w.Name, &w.Kind, pq.Array(&w.Groups)); err != nil {
			rows.Close()
			return nil, fmt.Errorf("load wards: %w", err)
		}
		wards = append(wards, w)
	}
	if err := rows.Close(); err != nil {
		return nil, fmt.Errorf("load wards: %w", err)
	}

	const qOffers = `
SELECT o.school_code, s.name, s.ward_code, s.address, COALESCE(s.lat, 0), COALESCE(s.lon, 0),
       o.level, o.school_year, o.quota,
       COALESCE((SELECT json_agg(json_build_object('ward', z.ward_code, 'groups', z.groups) ORDER BY z.ward_code)
                 FROM catchment_zones z
                 WHERE z.school_code = o.school_code AND z.level = o.level AND z.school_year = o.school_year), '[]')
FROM school_offers o JOIN schools s ON s.code = o.school_code
ORDER BY o.level, o.school_year, o.school_code`
	rows, err = d.db.QueryContext(ctx, qOffers)
	if err != nil {
		return nil, fmt.Errorf("load offers: %w", err)
	}
	var offers []enrollment.Offer
	for rows.Next() {
		var o enrollment.Offer
		var zones []byte
		if err := rows.Scan(&o.SchoolCode, &o.Name, &o.Ward, &o.Address, &o.Lat, &o.Lon, &o.Level, &o.SchoolYear, &o.Quota, &zones); err != nil {
			rows.Close()
			return nil, fmt.Errorf("load offers: %w", err)
		}
		if err := json.Unmarshal(zones, &o.Catchment); err != nil {
			rows.Close()
			return nil, fmt.Errorf("load offers: catchment of %s: %w", o.SchoolCode, err)
		}
		for i := range o.Catchment {
			if o.Catchment[i].Groups == nil {
				o.Catchment[i].Groups = []string{}
			}
		}
		offers = append(offers, o)
	}
	if err := rows.Close(); err != nil {
		return nil, fmt.Errorf("load offers: %w", err)
	}
	return enrollment.NewCatalog(windows, wards, offers), nil
}

// SaveReference writes reference data in one transaction, replacing what
// is there for the same keys; running it twice changes nothing.
func (d *DB) SaveReference(ctx context.Context, ref enrollment.Reference) (err error) {
	defer wrap(&err, "save reference data of %s", ref.Authority.Code)
	return d.Transact(ctx, 0, func(tx *sqlx.Tx) error {
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
