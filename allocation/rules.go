package allocation

import (
	"fmt"
	"strings"
)

// An atom is one condition of a priority rule, as a bit in an atom set.
type atom uint8

const (
	atomDT1 atom = 1 << iota
	atomDT2
	atomDT3
	atomInCatchment
	atomGroup1
	atomGroup2
	atomGroup3
	atomSibling
)

// atomInfo describes an atom for rule parsing and for explanations.
type atomInfo struct {
	name   string
	bit    atom
	vi, en string
}

// atoms is the vocabulary of priority rules, in documentation order.
var atoms = []atomInfo{
	{"dt1", atomDT1, "thường trú và nơi ở hiện tại đều thuộc tuyến tuyển sinh của trường", "permanent and current residence both in the school's catchment"},
	{"dt2", atomDT2, "thường trú thuộc tuyến của trường, nơi ở hiện tại ngoài tuyến", "permanent residence in the school's catchment, current residence outside it"},
	{"dt3", atomDT3, "nơi ở hiện tại thuộc tuyến của trường, thường trú ngoài tuyến", "current residence in the school's catchment, permanent residence outside it"},
	{"in_catchment", atomInCatchment, "cư trú (thường trú hoặc hiện tại) trong tuyến của trường", "living in the school's catchment (permanent or current residence)"},
	{"group1", atomGroup1, "thuộc diện ưu tiên nhóm 1", "in priority group 1"},
	{"group2", atomGroup2, "thuộc diện ưu tiên nhóm 2", "in priority group 2"},
	{"group3", atomGroup3, "thuộc diện ưu tiên nhóm 3", "in priority group 3"},
	{"sibling", atomSibling, "có anh, chị hoặc em ruột đang học tại trường", "a brother or sister at the school"},
}

// A rule is a set of atoms that must all hold.
type rule struct {
	need   atom
	vi, en string // the rule in words
}

// parseRules parses priority rules. Each rule is atoms joined by "+".
// It returns one problem string per bad rule.
func parseRules(src []string) ([]rule, []string) {
	var rules []rule
	var problems []string
	for i, s := range src {
		var r rule
		var vi, en []string
		bad := false
		for _, name := range strings.Split(s, "+") {
			name = strings.TrimSpace(name)
			var info *atomInfo
			for k := range atoms {
				if atoms[k].name == name {
					info = &atoms[k]
				}
			}
			if info == nil {
				problems = append(problems, fmt.Sprintf("priority_rules[%d] %q: unknown atom %q (known: dt1, dt2, dt3, in_catchment, group1, group2, group3, sibling)", i, s, name))
				bad = true
				break
			}
			r.need |= info.bit
			vi = append(vi, info.vi)
			en = append(en, info.en)
		}
		if bad {
			continue
		}
		r.vi, r.en = strings.Join(vi, " và "), strings.Join(en, " and ")
		rules = append(rules, r)
	}
	return rules, problems
}

// classTable maps every atom set to the index of the first rule it
// satisfies, or len(rules). With eight atoms there are 256 sets, so the
// class of a proposal costs one table look-up.
func classTable(rules []rule) *[256]uint16 {
	var t [256]uint16
	for set := range 256 {
		t[set] = uint16(len(rules))
		for i, r := range rules {
			if atom(set)&r.need == r.need {
				t[set] = uint16(i)
				break
			}
		}
	}
	return &t
}
