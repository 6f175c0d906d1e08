package democity_test

import (
	"fmt"
	"slices"

	"github.com/tuyensinh/tuyensinh/enrollment/democity"
)

// The demo city is the same on every call, so it can seed a database, drive
// a load test and be checked against in tests.
func ExampleGenerate() {
	city := democity.Generate()
	seats := map[string]int{}
	for _, s := range city.Schools {
		seats[s.Level] += s.Quota
	}
	first := city.Schools[0]
	fmt.Println(city.Authority.Name, len(city.Wards), "wards")
	fmt.Println(first.Code, first.Name, first.Quota)
	fmt.Println("seats:", seats["mg5"], seats["lop1"], seats["lop6"])
	// Output:
	// Thành phố Hà Nội 32 wards
	// MG-BADINH-01 Trường Mầm non Ba Đình 350
	// seats: 12950 15855 14735
}

// A zone without groups covers its whole ward; otherwise only the groups it
// names. Group TDP 12 of Phường Ba Đình lies on the line between two
// primary schools, so both take children from it.
func ExampleZone() {
	city := democity.Generate()
	ward, group := "00004", "TDP 12"
	for _, s := range city.Schools {
		if s.Level != "lop1" {
			continue
		}
		for _, z := range s.Catchment {
			if z.Ward == ward && (len(z.Groups) == 0 || slices.Contains(z.Groups, group)) {
				fmt.Println(s.Code, s.Name)
			}
		}
	}
	// Output:
	// TH-BADINH-01 Trường Tiểu học Ba Đình
	// TH-BADINH-02 Trường Tiểu học Kim Đồng
}
