package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"time"
)

// city is the reference data the load test builds registrations from, as
// the public API serves it: the open windows, the wards with their
// residential groups and, per level, the schools with their catchments.
type city struct {
	Windows []cityWindow
	Wards   []cityWard
	Schools map[string][]citySchool // by level
}

type cityWindow struct {
	Level      string    `json:"level"`
	SchoolYear int       `json:"school_year"`
	OpensAt    time.Time `json:"opens_at"`
	ClosesAt   time.Time `json:"closes_at"`
	BirthYear  int       `json:"birth_year"`
	MaxChoices int       `json:"max_choices"`
	Open       bool      `json:"open"`
}

type cityWard struct {
	Code   string   `json:"code"`
	Name   string   `json:"name"`
	Groups []string `json:"groups"`
}

type citySchool struct {
	Code      string     `json:"code"`
	Name      string     `json:"name"`
	Ward      string     `json:"ward"`
	Catchment []cityZone `json:"catchment"`
}

type cityZone struct {
	Ward   string   `json:"ward"`
	Groups []string `json:"groups"`
}

// fetchCity reads the open windows, the wards and the schools of each open
// level from the service at base. It returns an error when no window is
// open, since no valid registration could then be made.
func fetchCity(ctx context.Context, client *http.Client, base string) (*city, error) {
	var ws struct {
		Windows []cityWindow `json:"windows"`
	}
	if err := getJSON(ctx, client, base+"/api/v1/windows", &ws); err != nil {
		return nil, err
	}
	c := &city{Schools: map[string][]citySchool{}}
	for _, w := range ws.Windows {
		if w.Open {
			c.Windows = append(c.Windows, w)
		}
	}
	if len(c.Windows) == 0 {
		return nil, fmt.Errorf("%s/api/v1/windows: no registration window is open (seed the demo city: tuyensinh seed --demo)", base)
	}
	var wards struct {
		Wards []cityWard `json:"wards"`
	}
	if err := getJSON(ctx, client, base+"/api/v1/wards", &wards); err != nil {
		return nil, err
	}
	c.Wards = wards.Wards
	if len(c.Wards) == 0 {
		return nil, fmt.Errorf("%s/api/v1/wards: the city has no wards", base)
	}
	for _, w := range c.Windows {
		var ss struct {
			Schools []citySchool `json:"schools"`
		}
		u := fmt.Sprintf("%s/api/v1/schools?level=%s&school_year=%d", base, w.Level, w.SchoolYear)
		if err := getJSON(ctx, client, u, &ss); err != nil {
			return nil, err
		}
		if len(ss.Schools) == 0 {
			return nil, fmt.Errorf("%s: no school offers %s", u, w.Level)
		}
		c.Schools[w.Level] = ss.Schools
	}
	return c, nil
}

// getJSON GETs u and decodes its 200 JSON answer into v.
func getJSON(ctx context.Context, client *http.Client, u string, v any) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return err
	}
	resp, err := client.Do(req)
	if err != nil {
		return fmt.Errorf("GET %s: %w", u, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 32<<20))
	if err != nil {
		return fmt.Errorf("GET %s: %w", u, err)
	}
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("GET %s: %s: %.200s", u, resp.Status, body)
	}
	if err := json.Unmarshal(body, v); err != nil {
		return fmt.Errorf("GET %s: %w", u, err)
	}
	return nil
}
