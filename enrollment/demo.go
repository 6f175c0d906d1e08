package enrollment

import (
	"time"

	"github.com/tuyensinh/tuyensinh/enrollment/democity"
)

// DemoSchoolYear is the school year a city enrolls for at t: the one that
// starts next September, or the current one while its July windows are
// still ahead (January to August).
func DemoSchoolYear(t time.Time) int {
	t = t.In(vietnam())
	if t.Month() >= time.September {
		return t.Year() + 1
	}
	return t.Year()
}

// DemoWindowDays is how long the demo city's windows stay open. Real
// windows are three days; the demo's stay open long enough to try it.
const DemoWindowDays = 30

// DemoReference is the generated demo city (package democity) as reference
// data, with windows for mg5, lop1 and lop6 of the school year enrolled for
// at now, opened at 00:00 (UTC+7) the day before now and closing
// DemoWindowDays later, three ranked choices each.
func DemoReference(now time.Time) Reference {
	city := democity.Generate()
	year := DemoSchoolYear(now)
	ref := Reference{Authority: Authority{Code: city.Authority.Code, Name: city.Authority.Name, Kind: "city"}}
	for _, w := range city.Wards {
		ref.Wards = append(ref.Wards, Ward{Code: w.Code, Name: w.Name, Kind: w.Kind, Groups: w.Groups, Lat: w.Lat, Lon: w.Lon})
	}
	for _, s := range city.Schools {
		o := Offer{SchoolCode: s.Code, Name: s.Name, Ward: s.Ward, Address: s.Address, Lat: s.Lat, Lon: s.Lon,
			Level: Level(s.Level), SchoolYear: year, Quota: s.Quota}
		for _, z := range s.Catchment {
			o.Catchment = append(o.Catchment, Zone{Ward: z.Ward, Groups: z.Groups})
		}
		ref.Offers = append(ref.Offers, o)
	}
	local := now.In(vietnam())
	opens := time.Date(local.Year(), local.Month(), local.Day()-1, 0, 0, 0, 0, vietnam()).UTC()
	for _, l := range []Level{LevelMG5, LevelLop1, LevelLop6} {
		ref.Windows = append(ref.Windows, Window{Level: l, SchoolYear: year, OpensAt: opens,
			ClosesAt: opens.AddDate(0, 0, DemoWindowDays), BirthYear: l.BirthYear(year), MaxChoices: 3})
	}
	return ref
}

// DemoPopulationPerLevel is how many children of each demo level's birth
// year DemoPopulation records.
const DemoPopulationPerLevel = 1500

// Parts of the demo population's names, in NFC.
var (
	demoFamilyNames = []string{"Nguyễn", "Trần", "Lê", "Phạm", "Hoàng", "Huỳnh", "Phan", "Vũ", "Võ", "Đặng", "Bùi", "Đỗ", "Hồ", "Ngô", "Dương", "Lý"}
	demoMiddleNames = map[Sex][]string{Male: {"Văn", "Minh", "Đức", "Quang", "Gia", "Hữu", "Anh"}, Female: {"Thị", "Ngọc", "Thu", "Minh", "Bảo", "Khánh", "Phương"}}
	demoGivenNames  = map[Sex][]string{
		Male:   {"An", "Bình", "Cường", "Dũng", "Đạt", "Hải", "Huy", "Khang", "Khoa", "Long", "Nam", "Phúc", "Quân", "Sơn", "Tuấn", "Vinh"},
		Female: {"Anh", "Chi", "Diệp", "Hà", "Hân", "Hoa", "Lan", "Linh", "Mai", "My", "Ngân", "Nhi", "Thảo", "Trang", "Vy", "Yến"},
	}
)

// DemoPopulation is the demo city's population register: for each of the
// levels DemoReference opens (mg5, lop1, lop6) in the school year enrolled
// for at now, DemoPopulationPerLevel children born in the level's birth
// year, each with a mother and a father recorded. Birth registrations are
// in Hà Nội (province 001). The same now gives the same people.
func DemoPopulation(now time.Time) []Person {
	year := DemoSchoolYear(now)
	var out []Person
	for li, l := range []Level{LevelMG5, LevelLop1, LevelLop6} {
		born := l.BirthYear(year)
		for i := range DemoPopulationPerLevel {
			sex := Male
			if i%2 == 1 {
				sex = Female
			}
			// A day of the year from a fixed permutation of the index, so
			// birthdays spread over the year without a random source.
			dob := time.Date(born, 1, 1, 0, 0, 0, 0, time.UTC).AddDate(0, 0, (i*97+li*31)%365)
			mother := time.Date(born-26-i%9, time.Month(1+i%12), 1+i%28, 0, 0, 0, 0, time.UTC)
			father := time.Date(born-29-i%7, time.Month(1+(i+5)%12), 1+(i+11)%28, 0, 0, 0, 0, time.UTC)
			family := demoFamilyNames[(i/2)%len(demoFamilyNames)]
			middle := demoMiddleNames[sex][(i/7)%len(demoMiddleNames[sex])]
			given := demoGivenNames[sex][(i/3+li)%len(demoGivenNames[sex])]
			out = append(out, Person{
				IDNumber:    MakeIDNumber("001", dob, sex, 500000+i),
				FullName:    family + " " + middle + " " + given,
				DateOfBirth: dob.Format(time.DateOnly),
				GuardianIDNumbers: []string{
					MakeIDNumber("001", mother, Female, 700000+li*DemoPopulationPerLevel+i),
					MakeIDNumber("001", father, Male, 700000+li*DemoPopulationPerLevel+i),
				},
			})
		}
	}
	return out
}
