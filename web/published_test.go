package web_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/tuyensinh/tuyensinh/allocation"
)

func (s *reviewSite) getRaw(t *testing.T, path string) (int, []byte) {
	t.Helper()
	res, err := http.Get(s.url + path)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	b, _ := io.ReadAll(res.Body)
	return res.StatusCode, b
}

// TestPublishedResults: the list shows each published run's seed, its
// commitment and a per-school table; the files are the stored bytes, run
// again through the engine they give the same result byte for byte, and
// none of the three answers holds a name, ID number, phone or address.
func TestPublishedResults(t *testing.T) {
	t.Parallel()
	s := newParentSite(t)
	var codes []string
	for range 6 {
		code, _ := s.stored(t, schoolA, s.schoolB.SchoolCode)
		codes = append(codes, code)
	}
	r := s.publish(t, 1, time.Now().Add(48*time.Hour), map[string]int{schoolA: 2}, codes...)

	st, list := s.getRaw(t, fmt.Sprintf("/api/v1/placement/published?level=lop1&school_year=%d", s.window.SchoolYear))
	if st != http.StatusOK {
		t.Fatalf("list: %d %s", st, list)
	}
	var body struct {
		Runs []struct {
			ID             int64  `json:"id"`
			Seed           string `json:"seed"`
			SeedCommitment string `json:"seed_commitment"`
			Schools        []struct {
				School   string          `json:"school"`
				Quota    int             `json:"quota"`
				Admitted int             `json:"admitted"`
				Cutoff   json.RawMessage `json:"cutoff"`
			} `json:"schools"`
			Stats       map[string]any `json:"stats"`
			InstanceURL string         `json:"instance_url"`
			ResultURL   string         `json:"result_url"`
		} `json:"runs"`
	}
	if err := json.Unmarshal(list, &body); err != nil || len(body.Runs) != 1 {
		t.Fatalf("list: %v %s", err, list)
	}
	run := body.Runs[0]
	if run.ID != r.id || run.Seed != testSeed || len(run.SeedCommitment) != 64 || run.Stats["students"] != 6.0 {
		t.Errorf("run: %+v", run)
	}
	found := false
	for _, sc := range run.Schools {
		if sc.School == schoolA {
			found = true
			if sc.Quota != 2 || sc.Admitted != 2 || !bytes.Contains(sc.Cutoff, []byte(`"lottery"`)) {
				t.Errorf("school A: %+v %s", sc, sc.Cutoff)
			}
		}
	}
	if !found {
		t.Errorf("school A missing from %s", list)
	}
	if st, b := s.getRaw(t, "/api/v1/placement/published?level=lop9"); st != http.StatusBadRequest {
		t.Errorf("bad level: %d %s", st, b)
	}
	if st, b := s.getRaw(t, "/api/v1/placement/published?level=mg3"); st != http.StatusOK || !bytes.Equal(bytes.TrimSpace(b), []byte(`{"runs":[]}`)) {
		t.Errorf("no runs: %d %s", st, b)
	}

	_, inst := s.getRaw(t, run.InstanceURL)
	_, res := s.getRaw(t, run.ResultURL)
	if !bytes.Equal(inst, r.instance) || !bytes.Equal(res, r.result) {
		t.Fatal("the files served are not the stored bytes")
	}
	// Anyone re-runs it: tuyensinh place --input instance.json does this.
	in, err := allocation.Decode(inst)
	if err != nil {
		t.Fatal(err)
	}
	again, err := allocation.Place(in)
	if err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	if err := again.WriteJSON(&out); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(out.Bytes(), res) {
		t.Error("re-running the published instance does not give the published result")
	}

	// No personal field of any child or guardian in any of them.
	var personal []string
	rows, err := s.db.QueryContext(t.Context(), `SELECT tracking_code, child_id_number, child_name, permanent_address, current_address,
    guardian->>'full_name', guardian->>'phone', COALESCE(guardian->>'id_number', '') FROM applications`)
	if err != nil {
		t.Fatal(err)
	}
	for rows.Next() {
		var v [8]string
		if err := rows.Scan(&v[0], &v[1], &v[2], &v[3], &v[4], &v[5], &v[6], &v[7]); err != nil {
			t.Fatal(err)
		}
		personal = append(personal, v[:]...)
	}
	rows.Close()
	for name, b := range map[string][]byte{"list": list, "instance": inst, "result": res} {
		for _, p := range personal {
			if p != "" && bytes.Contains(b, []byte(p)) {
				t.Errorf("%s holds %q", name, p)
			}
		}
		for _, field := range []string{"name", "phone", "address", "id_number", "guardian", "tracking_code"} {
			if bytes.Contains(b, []byte(`"`+field+`"`)) || bytes.Contains(b, []byte(`"full_`+field+`"`)) {
				t.Errorf("%s has a field %q", name, field)
			}
		}
	}

	// A preview is nobody's business; an unknown run is 404.
	var preview int64
	if err := s.db.QueryRowContext(t.Context(), `INSERT INTO placement_runs (level, school_year, round, mechanism, include, seed_commitment, instance, created_by)
SELECT level, school_year, 2, mechanism, include, seed_commitment, instance, 'admin' FROM placement_runs WHERE id = $1 RETURNING id`, r.id).Scan(&preview); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{fmt.Sprintf("/api/v1/placement/published/%d/instance.json", preview), "/api/v1/placement/published/999999/result.json",
		"/api/v1/placement/published/abc/result.json"} {
		if st, b := s.getRaw(t, p); st != http.StatusNotFound || !strings.Contains(string(b), "not_found") {
			t.Errorf("%s: %d %s", p, st, b)
		}
	}
}
