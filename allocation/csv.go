package allocation

import (
	"encoding/csv"
	"io"
	"strconv"
	"strings"
)

// Tables for officers, who open them in a spreadsheet: one line per
// student (WriteAssignmentsCSV) or per school (WriteSchoolsCSV), in the
// order of the result file, with a header line. A priority level in these
// tables counts from 1, as the explanations do: level k is the k-th
// priority rule ("class" k-1 in the JSON files), and the level after the
// last rule is everyone whom no rule covers.

// AssignmentsCSVHeader is the header line of WriteAssignmentsCSV.
var AssignmentsCSVHeader = []string{"student", "school", "choice_rank", "via", "distance_km", "explanation_vi", "explanation_en"}

// WriteAssignmentsCSV writes one line per student: the student id, the
// school (empty when unassigned), the rank of that school among the
// student's choices (0 when not by choice), how the seat was obtained,
// the distance of an administrative placement, and the explanations in
// Vietnamese and in English, one sentence per school ranked higher,
// joined by " | ".
func (r *Result) WriteAssignmentsCSV(w io.Writer) error {
	cw := csv.NewWriter(w)
	if err := cw.Write(AssignmentsCSVHeader); err != nil {
		return err
	}
	var vi, en strings.Builder
	var sc scratch
	rec := make([]string, len(AssignmentsCSVHeader))
	for i := range r.Assignments {
		a := &r.Assignments[i]
		vi.Reset()
		en.Reset()
		r.explanations(int32(i), &sc.e, func(_ *Explanation, v, n []byte) {
			if vi.Len() > 0 {
				vi.WriteString(" | ")
				en.WriteString(" | ")
			}
			vi.Write(v)
			en.Write(n)
		}, &sc.vi, &sc.en)
		if s, e := r.assignmentNote(i); s != "" {
			if vi.Len() > 0 {
				vi.WriteString(" | ")
				en.WriteString(" | ")
			}
			vi.WriteString(s)
			en.WriteString(e)
		}
		dist := ""
		if a.Via == ViaAdministrative {
			dist = strconv.FormatFloat(a.DistanceKm, 'f', -1, 64)
		}
		rec = append(rec[:0], a.Student, a.School, strconv.Itoa(a.ChoiceRank), string(a.Via), dist, vi.String(), en.String())
		if err := cw.Write(rec); err != nil {
			return err
		}
	}
	cw.Flush()
	return cw.Error()
}

// SchoolsCSVHeader is the header line of WriteSchoolsCSV.
var SchoolsCSVHeader = []string{"school", "quota", "admitted", "admitted_by_choice", "administrative", "free_seats",
	"cutoff_level", "cutoff_rule", "cutoff_score", "cutoff_lottery", "filled_round"}

// WriteSchoolsCSV writes one line per school: its quota, the students
// admitted (by choice and administratively), the seats left, and the
// cutoff when the mechanism filled it: the priority level (from 1) and the
// rule it stands for, the score, and the lottery digest.
func (r *Result) WriteSchoolsCSV(w io.Writer) error {
	cw := csv.NewWriter(w)
	if err := cw.Write(SchoolsCSVHeader); err != nil {
		return err
	}
	rec := make([]string, len(SchoolsCSVHeader))
	for k := range r.Schools {
		s := &r.Schools[k]
		level, rule, score, lottery, round := "", "", "", "", ""
		if s.Cutoff != nil {
			level = strconv.Itoa(s.Cutoff.Class + 1)
			rule = r.RuleText(s.Cutoff.Class)
			if s.Cutoff.HasScore {
				score = strconv.FormatFloat(s.Cutoff.Score, 'f', -1, 64)
			}
			lottery = s.Cutoff.LotteryHex()
		}
		if s.FilledRound > 0 {
			round = strconv.Itoa(s.FilledRound)
		}
		rec = append(rec[:0], s.ID, strconv.Itoa(s.Quota), strconv.Itoa(s.Admitted), strconv.Itoa(s.AdmittedByChoice),
			strconv.Itoa(s.Administrative), strconv.Itoa(s.Quota-s.Admitted), level, rule, score, lottery, round)
		if err := cw.Write(rec); err != nil {
			return err
		}
	}
	cw.Flush()
	return cw.Error()
}

// RuleText names, in Vietnamese, the priority rule of a class (the 0-based
// "class" of the files): the rule as written in the instance, or "none of
// the rules" for the class after the last.
func (r *Result) RuleText(class int) string {
	if class >= 0 && class < len(r.PriorityRules) {
		return r.PriorityRules[class]
	}
	return "không thuộc diện ưu tiên nào / none of the rules"
}
