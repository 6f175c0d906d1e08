package democity

import (
	"time"

	"github.com/tuyensinh/tuyensinh/enrollment"
)

// vietnam is Indochina Time (UTC+7, no daylight saving): windows open at
// midnight on Vietnam's clock.
var vietnam = time.FixedZone("ICT", 7*3600)

// SchoolYear is the school year a city enrolls for at t: the one that
// starts next September, or the current one while its July windows are
// still ahead (January to August).
func SchoolYear(t time.Time) int {
	t = t.In(vietnam)
	if t.Month() >= time.September {
		return t.Year() + 1
	}
	return t.Year()
}

// WindowDays is how long the demo city's windows stay open. Real
// windows are three days; the demo's stay open long enough to try it.
const WindowDays = 30

// Reference is the generated demo city as enrollment reference data, with
// windows for mg5, lop1 and lop6 of the school year enrolled for at now,
// opened at 00:00 (UTC+7) the day before now and closing WindowDays
// later, three ranked choices each.
func Reference(now time.Time) enrollment.Reference {
	city := Generate()
	year := SchoolYear(now)
	ref := enrollment.Reference{Authority: enrollment.Authority{Code: city.Authority.Code, Name: city.Authority.Name, Kind: "city"}}
	for _, w := range city.Wards {
		ref.Wards = append(ref.Wards, enrollment.Ward{Code: w.Code, Name: w.Name, Kind: w.Kind, Groups: w.Groups, Lat: w.Lat, Lon: w.Lon})
	}
	for _, s := range city.Schools {
		o := enrollment.Offer{SchoolCode: s.Code, Name: s.Name, Ward: s.Ward, Address: s.Address, Lat: s.Lat, Lon: s.Lon,
			Level: enrollment.Level(s.Level), SchoolYear: year, Quota: s.Quota}
		for _, z := range s.Catchment {
			o.Catchment = append(o.Catchment, enrollment.Zone{Ward: z.Ward, Groups: z.Groups})
		}
		ref.Offers = append(ref.Offers, o)
	}
	local := now.In(vietnam)
	opens := time.Date(local.Year(), local.Month(), local.Day()-1, 0, 0, 0, 0, vietnam).UTC()
	for _, l := range []enrollment.Level{enrollment.LevelMG5, enrollment.LevelLop1, enrollment.LevelLop6} {
		ref.Windows = append(ref.Windows, enrollment.Window{Level: l, SchoolYear: year, OpensAt: opens,
			ClosesAt: opens.AddDate(0, 0, WindowDays), BirthYear: l.BirthYear(year), MaxChoices: 3})
	}
	return ref
}

// PopulationPerLevel is how many children of each demo level's birth
// year Population records.
const PopulationPerLevel = 1500

// Parts of the demo population's names, in NFC.
var (
	demoFamilyNames = []string{"Nguyễn", "Trần", "Lê", "Phạm", "Hoàng", "Huỳnh", "Phan", "Vũ", "Võ", "Đặng", "Bùi", "Đỗ", "Hồ", "Ngô", "Dương", "Lý"}
	demoMiddleNames = map[enrollment.Sex][]string{enrollment.Male: {"Văn", "Minh", "Đức", "Quang", "Gia", "Hữu", "Anh"}, enrollment.Female: {"Thị", "Ngọc", "Thu", "Minh", "Bảo", "Khánh", "Phương"}}
	demoGivenNames  = map[enrollment.Sex][]string{
		enrollment.Male:   {"An", "Bình", "Cường", "Dũng", "Đạt", "Hải", "Huy", "Khang", "Khoa", "Long", "Nam", "Phúc", "Quân", "Sơn", "Tuấn", "Vinh"},
		enrollment.Female: {"Anh", "Chi", "Diệp", "Hà", "Hân", "Hoa", "Lan", "Linh", "Mai", "My", "Ngân", "Nhi", "Thảo", "Trang", "Vy", "Yến"},
	}
)

// Population is the demo city's population register: for each of the
// levels Reference opens (mg5, lop1, lop6) in the school year enrolled
// for at now, PopulationPerLevel children born in the level's birth
// year, each with a mother and a father recorded. Birth registrations are
// in Hà Nội (province 001). The same now gives the same people.
func Population(now time.Time) []enrollment.Person {
	year := SchoolYear(now)
	var out []enrollment.Person
	for li, l := range []enrollment.Level{enrollment.LevelMG5, enrollment.LevelLop1, enrollment.LevelLop6} {
		born := l.BirthYear(year)
		for i := range PopulationPerLevel {
			sex := enrollment.Male
			if i%2 == 1 {
				sex = enrollment.Female
			}
			// A day of the year from a fixed permutation of the index, so
			// birthdays spread over the year without a random source.
			dob := time.Date(born, 1, 1, 0, 0, 0, 0, time.UTC).AddDate(0, 0, (i*97+li*31)%365)
			mother := time.Date(born-26-i%9, time.Month(1+i%12), 1+i%28, 0, 0, 0, 0, time.UTC)
			father := time.Date(born-29-i%7, time.Month(1+(i+5)%12), 1+(i+11)%28, 0, 0, 0, 0, time.UTC)
			family := demoFamilyNames[(i/2)%len(demoFamilyNames)]
			middle := demoMiddleNames[sex][(i/7)%len(demoMiddleNames[sex])]
			given := demoGivenNames[sex][(i/3+li)%len(demoGivenNames[sex])]
			out = append(out, enrollment.Person{
				IDNumber:    enrollment.MakeIDNumber("001", dob, sex, 500000+i),
				FullName:    family + " " + middle + " " + given,
				DateOfBirth: dob.Format(time.DateOnly),
				GuardianIDNumbers: []string{
					enrollment.MakeIDNumber("001", mother, enrollment.Female, 700000+li*PopulationPerLevel+i),
					enrollment.MakeIDNumber("001", father, enrollment.Male, 700000+li*PopulationPerLevel+i),
				},
			})
		}
	}
	return out
}
