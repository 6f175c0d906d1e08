package allocation

import (
	"encoding/hex"
	"strings"
	"testing"
)

func TestExplain(t *testing.T) {
	t.Parallel()
	inst := &Instance{
		Seed: "explain", PriorityRules: []string{"dt1"},
		Schools: []School{
			{ID: "T1", Quota: 1, Catchment: []string{"A"}},
			{ID: "T2", Quota: 1, Scores: map[string]float64{"scored": 27.5, "low": 20}},
			{ID: "T3", Quota: 0},
			{ID: "T4", Quota: 1},
			{ID: "T5", Quota: 10},
		},
		Students: []Student{
			{ID: "local", Choices: []string{"T1"}, PermanentZone: "A", CurrentZone: "A"},
			{ID: "outsider", Choices: []string{"T1", "T5"}},
			{ID: "scored", Choices: []string{"T2"}},
			{ID: "low", Choices: []string{"T2", "T5"}},
			{ID: "unscored", Choices: []string{"T2", "T3", "T5"}},
			{ID: "lucky", Choices: []string{"T4"}},
			{ID: "unlucky", Choices: []string{"T4", "T5"}},
		},
	}
	// The lottery decides T4: the smaller digest of p and q is lucky.
	lucky, unlucky := "p", "q"
	if l, u := LotteryDigest(inst.Seed, lucky), LotteryDigest(inst.Seed, unlucky); string(u[:]) < string(l[:]) {
		lucky, unlucky = unlucky, lucky
	}
	inst.Students[5].ID, inst.Students[6].ID = lucky, unlucky
	r, err := Place(inst)
	if err != nil {
		t.Fatal(err)
	}
	explain := func(id string) []Explanation {
		for i, a := range r.Assignments {
			if a.Student == id {
				return r.Explain(i)
			}
		}
		t.Fatalf("no student %s", id)
		return nil
	}
	tests := []struct {
		student  string
		k        int
		reason   Reason
		missedBy MissedBy
		vi, en   []string
	}{
		{"outsider", 0, ReasonFull, MissedByClass,
			[]string{"Nguyện vọng 1, trường T1: trường đã nhận đủ 1 chỉ tiêu.", "mức ưu tiên 1 (thường trú và nơi ở hiện tại đều thuộc tuyến tuyển sinh của trường)", "con thuộc mức ưu tiên 2 (không thuộc diện ưu tiên nào)"},
			[]string{"Choice 1, school T1: the school filled all 1 seats.", "priority level 1 (permanent and current residence both in the school's catchment)", "your child has level 2 (none of the priority rules)"}},
		{"low", 0, ReasonFull, MissedByScore,
			[]string{"điểm của con (20) thấp hơn điểm của học sinh cuối cùng được nhận (27,5)"},
			[]string{"a lower score (20 against 27.5)"}},
		{"unscored", 0, ReasonFull, MissedByScore,
			[]string{"con không có điểm tại trường này, còn học sinh đó có điểm 27,5"},
			[]string{"no score at this school, while that student had 27.5"}},
		{"unscored", 1, ReasonNoSeats, "",
			[]string{"Nguyện vọng 2, trường T3: trường không có chỉ tiêu"},
			[]string{"Choice 2, school T3: the school offered no seats"}},
		{unlucky, 0, ReasonFull, MissedByLottery,
			[]string{"do bốc thăm công khai quyết định", "số bốc thăm của con (" + LotteryHexPrefix(inst.Seed, unlucky)},
			[]string{"the public lottery decided", "your child's number (" + LotteryHexPrefix(inst.Seed, unlucky)}},
	}
	for _, tt := range tests {
		ex := explain(tt.student)
		if tt.k >= len(ex) {
			t.Errorf("%s: %d explanations, want more than %d", tt.student, len(ex), tt.k)
			continue
		}
		e := ex[tt.k]
		if e.Reason != tt.reason || e.MissedBy != tt.missedBy {
			t.Errorf("%s[%d]: reason %q missed by %q, want %q %q", tt.student, tt.k, e.Reason, e.MissedBy, tt.reason, tt.missedBy)
		}
		for _, w := range tt.vi {
			if !strings.Contains(e.VI, w) {
				t.Errorf("%s[%d]: VI %q does not contain %q", tt.student, tt.k, e.VI, w)
			}
		}
		for _, w := range tt.en {
			if !strings.Contains(e.EN, w) {
				t.Errorf("%s[%d]: EN %q does not contain %q", tt.student, tt.k, e.EN, w)
			}
		}
	}
	for _, id := range []string{"local", "scored", lucky} {
		if ex := explain(id); len(ex) != 0 {
			t.Errorf("%s got its first choice but has explanations %+v", id, ex)
		}
	}
}

// LotteryHexPrefix is the first eight hex digits of a single-lottery number.
func LotteryHexPrefix(seed, id string) string {
	return Priority{Lottery: LotteryDigest(seed, id)}.LotteryHex()[:8]
}

func TestExplainBostonFilledEarlier(t *testing.T) {
	t.Parallel()
	inst := &Instance{
		Seed: "boston", Mechanism: MechanismBoston, PriorityRules: []string{"sibling"},
		Schools:  []School{{ID: "POP", Quota: 1}, {ID: "OTHER", Quota: 1}},
		Students: []Student{{ID: "first", Choices: []string{"POP"}}, {ID: "second", Choices: []string{"OTHER", "POP"}, SiblingsAt: []string{"POP"}}, {ID: "third", Choices: []string{"OTHER"}}},
	}
	inst.Schools[1].Scores = map[string]float64{"third": 1} // third wins OTHER
	r, err := Place(inst)
	if err != nil {
		t.Fatal(err)
	}
	ex := r.Explain(1)
	if len(ex) != 2 {
		t.Fatalf("second: %d explanations, want 2: %+v", len(ex), ex)
	}
	e := ex[1]
	if e.Reason != ReasonFilledEarlier || !strings.Contains(e.VI, "ngay ở vòng 1") || !strings.Contains(e.EN, "in round 1, before your choice 2") {
		t.Errorf("POP for second: %+v", e)
	}
	if r.Schools[0].FilledRound != 1 {
		t.Errorf("POP filled_round = %d, want 1", r.Schools[0].FilledRound)
	}
}

func TestLotteryPrefixLen(t *testing.T) {
	t.Parallel()
	hexDigest := func(s string) *[32]byte {
		var d [32]byte
		if _, err := hex.Decode(d[:], []byte(s+strings.Repeat("0", 64-len(s)))); err != nil {
			t.Fatal(err)
		}
		return &d
	}
	tests := []struct {
		a, b string
		want int
	}{
		{"f784397b", "0d54f1db", 8}, // equal last digits do not matter
		{"12345678", "12345679", 8},
		{"123456789a", "123456789b", 10},
		{"1234567891", "1234567890", 10},
		{"ab", "ab", 64},
	}
	for _, tt := range tests {
		a, b := hexDigest(tt.a), hexDigest(tt.b)
		if got := lotteryPrefixLen(a, b); got != tt.want {
			t.Errorf("lotteryPrefixLen(%s…, %s…) = %d, want %d", tt.a, tt.b, got, tt.want)
		}
		if got := string(appendHexPrefix(nil, a, 8)); got != (tt.a + "00000000")[:8] {
			t.Errorf("appendHexPrefix(%s…, 8) = %s", tt.a, got)
		}
	}
}
