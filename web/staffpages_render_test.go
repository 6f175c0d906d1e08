package web

import (
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/tuyensinh/tuyensinh/enrollment"
	"github.com/tuyensinh/tuyensinh/enrollment/staff"
)

// TestEveryPageRenders renders every page in every layout it is served
// in, with data like a real request's, and checks what the
// Content-Security-Policy needs: no inline script or style, scripts only
// from files. The browser tests then load them for real.
func TestEveryPageRenders(t *testing.T) {
	t.Parallel()
	prio := 1
	applicant := enrollment.Applicant{TrackingCode: "ABCDEFGHJKMNPQRSTVWX", Status: enrollment.StatusReturned, Level: enrollment.LevelLop1,
		SchoolYear: 2027, ChildName: "Nguyễn Văn An", DateOfBirth: "2021-03-15", Sex: enrollment.Male,
		ResidenceCategory: enrollment.DT2, PriorityGroup: 1, Choices: []string{"TH-A"}, ChoiceRank: 1, SubmittedAt: time.Now()}
	file := enrollment.File{TrackingCode: applicant.TrackingCode, Status: enrollment.StatusReturned, StatusReason: "Thiếu giấy tờ",
		Source: enrollment.SourceDirect, SubmittedAt: time.Now(), StoredAt: time.Now(),
		History: []enrollment.Event{{Actor: "school-TH-A", ActorRole: "school", From: enrollment.StatusReceived, To: enrollment.StatusReturned, Reason: "Thiếu giấy tờ", At: time.Now()},
			{Actor: "parent", ActorRole: "parent", To: enrollment.StatusReceived, At: time.Now()}}}
	file.Choices = []string{"TH-A"}
	pages := map[string]any{
		"sign-in.html":  signInData{Username: "x", Next: "/can-bo", Error: errUnauthorized},
		"sign-out.html": nil,
		"schools.html":  schoolsData{Q: "ba dinh", Schools: []schoolRow{{Code: "TH-A", Name: "Trường A", WardName: "Phường A", Applicants: 3}}},
		"dashboard.html": dashboardData{Code: "TH-A", Statuses: []enrollment.Status{enrollment.StatusReceived},
			Rows: []dashboardRow{{Level: enrollment.LevelLop1, Counts: []int{3, 3}}}, Totals: []int{3, 3}},
		"applicants.html": applicantsData{Code: "TH-A", Query: enrollment.ApplicantQuery{School: "TH-A", Priority: &prio, Q: "an"},
			Priority: "1", Page: enrollment.ApplicantPage{Applications: []enrollment.Applicant{applicant}, Total: 120, Page: 2, PerPage: 50},
			Pages: 3, Prev: "/p1", Next: "/p3", CSV: "/x.csv", XLSX: "/x.xlsx", Levels: enrollment.Levels, Statuses: enrollment.Statuses,
			Cats: []enrollment.ResidenceCategory{enrollment.DT1}, First: 51},
		"file.html": fileData{File: file, Schools: map[string]string{"TH-A": "Trường A"}, Wards: map[string]string{},
			CanAccept: true, CanReturn: true, CanVoid: true, DecisionPath: "/can-bo/ho-so/X/xet-duyet", SchoolCode: "TH-A"},
		"direct.html": directData{School: schoolRef{Code: "TH-A", Name: "Trường A"}, Windows: []windowOption{{Value: "lop1:2027", Label: "Lớp 1"}},
			Window: "lop1:2027", Wards: []enrollment.Ward{{Code: "00004", Name: "Phường A"}},
			Problems: map[string]string{"child.full_name": "Thiếu tên", "window": "x"}, Error: errForbidden, Existing: "/can-bo/ho-so/X"},
		"error.html": errorPage{Status: 403, Title: "Không có quyền", Message: "x", SignIn: signInPath},
		"404.html":   nil,
	}
	inline := regexp.MustCompile(`(?i)<script(\s[^>]*)?>\s*[^<\s]|<style|\sstyle\s*=|\son[a-z]+\s*=|javascript:`)
	users := map[layout]*staff.User{
		layoutPublic:  nil,
		layoutSchool:  {Username: "school-TH-A", Role: staff.RoleSchool, Scope: "TH-A"},
		layoutOfficer: {Username: "ward-00004", Role: staff.RoleAuthority, Scope: "00004"},
	}
	for file, data := range pages {
		for l, u := range users {
			if u == nil && file != "sign-in.html" && file != "error.html" && file != "404.html" {
				continue // staff pages are never public
			}
			pd := &pageData{Title: "T", Path: "/can-bo/truong/TH-A", User: u, Layout: l, CSRF: "tok", Data: data,
				School: &schoolRef{Code: "TH-A", Name: "Trường A"}, Flash: &flash{Kind: "ok", Message: "Đã lưu"}}
			if u != nil {
				pd.Home = staffHome
			}
			body, err := renderPage(file, pd)
			if err != nil {
				t.Errorf("%s in %s: %v", file, l, err)
				continue
			}
			if m := inline.Find(body); m != nil {
				t.Errorf("%s in %s has inline script or style: %q", file, l, m)
			}
			if u != nil && !strings.Contains(string(body), `name="csrf_token" value="tok"`) {
				t.Errorf("%s in %s has no sign-out form with the CSRF token", file, l)
			}
			if !strings.Contains(string(body), `<script src="/assets/labels.js" defer></script>`) {
				t.Errorf("%s in %s does not load the labels", file, l)
			}
		}
	}
}

// TestLabelsJS: the scripts' labels are enrollment's, for every level and
// status.
func TestLabelsJS(t *testing.T) {
	t.Parallel()
	js := string(labelsJS)
	for _, l := range enrollment.Levels {
		if !strings.Contains(js, `"`+l.NameVI()+`"`) || !strings.Contains(js, `"`+l.NameEN()+`"`) {
			t.Errorf("labels.js lacks the names of %s", l)
		}
	}
	for _, st := range enrollment.Statuses {
		vi, _ := st.Label()
		text, _ := st.Text()
		if !strings.Contains(js, `"`+string(st)+`":{`) || !strings.Contains(js, vi) || !strings.Contains(js, text) {
			t.Errorf("labels.js lacks the status %s", st)
		}
		if !st.Known() {
			t.Errorf("enrollment.Statuses lists %s, which has no text", st)
		}
	}
}
