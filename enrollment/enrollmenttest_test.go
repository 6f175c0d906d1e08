package enrollment_test

import (
	"time"

	"github.com/tuyensinh/tuyensinh/enrollment"
	"github.com/tuyensinh/tuyensinh/enrollment/democity"
)

// testNow is inside the demo windows built by testCatalog.
var testNow = time.Date(2026, 11, 27, 3, 0, 0, 0, time.UTC)

func testCatalog() *enrollment.Catalog {
	ref := democity.Reference(testNow)
	return enrollment.NewCatalog(ref.Windows, ref.Wards, ref.Offers)
}

// validForm returns a registration that passes every check at testNow: a
// girl born in 2021 for grade 1 in 2027-2028, living in ward 00004.
func validForm() *enrollment.Form {
	return &enrollment.Form{Registration: enrollment.Registration{
		Level:      enrollment.LevelLop1,
		SchoolYear: 2027,
		Child: enrollment.Child{IDNumber: "001321012345", FullName: "Nguyễn Minh Anh", DateOfBirth: "2021-03-15",
			Sex: enrollment.Female, Ethnicity: "Kinh", PlaceOfBirth: "Hà Nội"},
		Residence: enrollment.Residence{
			Permanent: enrollment.Address{Ward: "00004", Group: "TDP 3", Address: "12 Quán Thánh"},
			Current:   enrollment.Address{Ward: "00004", Group: "TDP 3", Address: "12 Quán Thánh"},
		},
		Guardian: enrollment.Guardian{FullName: "Trần Thị Hoa", Relation: "mother", IDNumber: "001190012345",
			Phone: "0912345678", Email: "hoa@example.vn"},
		Choices: []string{"TH-BADINH-01", "TH-BADINH-02"},
	}, Consent: true}
}
