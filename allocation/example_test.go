package allocation_test

import (
	"fmt"

	"github.com/tuyensinh/tuyensinh/allocation"
)

// Two families want the school of zone A, which has one seat; the child
// living in zone A has priority (rule "dt1"). The other child is refused
// there and gets its second choice.
func ExamplePlace() {
	inst := &allocation.Instance{
		Seed:          "2026-lop1-example",
		PriorityRules: []string{"dt1"},
		Schools: []allocation.School{
			{ID: "TH-A", Quota: 1, Catchment: []string{"A"}},
			{ID: "TH-B", Quota: 1, Catchment: []string{"B"}},
		},
		Students: []allocation.Student{
			{ID: "hs-1", Choices: []string{"TH-A", "TH-B"}, PermanentZone: "B", CurrentZone: "B"},
			{ID: "hs-2", Choices: []string{"TH-A"}, PermanentZone: "A", CurrentZone: "A"},
		},
	}
	res, err := allocation.Place(inst)
	if err != nil {
		fmt.Println(err)
		return
	}
	for i, a := range res.Assignments {
		fmt.Printf("%s: %s (choice %d, %s)\n", a.Student, a.School, a.ChoiceRank, a.Via)
		for _, e := range res.Explain(i) {
			fmt.Println("  " + e.EN)
			fmt.Println("  " + e.VI)
		}
	}
	// Output:
	// hs-1: TH-B (choice 2, choice)
	//   Choice 1, school TH-A: the school filled all 1 seats. The last student admitted had priority level 1 (permanent and current residence both in the school's catchment); your child has level 2 (none of the priority rules), which comes later.
	//   Nguyện vọng 1, trường TH-A: trường đã nhận đủ 1 chỉ tiêu. Học sinh cuối cùng được nhận thuộc mức ưu tiên 1 (thường trú và nơi ở hiện tại đều thuộc tuyến tuyển sinh của trường); con thuộc mức ưu tiên 2 (không thuộc diện ưu tiên nào), được xét sau.
	// hs-2: TH-A (choice 1, choice)
}

// Decode reports where a file goes wrong, and Place names every bad record.
func ExampleDecode() {
	_, err := allocation.Decode([]byte(`{"seed": "s", "students": [{"id": "hs-1", "choice": ["T1"]}]}`))
	fmt.Println(err)
	inst, _ := allocation.Decode([]byte(`{"seed": "s", "schools": [{"id": "T1", "quota": -2}],
		"students": [{"id": "hs-1", "choices": ["T1", "T9"]}]}`))
	_, err = allocation.Place(inst)
	fmt.Println(err)
	// Output:
	// line 1, column 43 (offset 42) (students[0].choice): unknown field "choice"
	// invalid instance: 2 problems:
	//   schools[0] (id "T1"): quota: negative quota -2
	//   students[0] (id "hs-1"): choices[1]: unknown school "T9"
}
