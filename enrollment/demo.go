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
