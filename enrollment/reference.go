package enrollment

// Authority is a body that sets quotas and catchments and runs placement:
// a city, a district or a ward/commune People's Committee.
type Authority struct {
	Code       string `json:"code"`
	Name       string `json:"name"`
	Kind       string `json:"kind"` // city, district or ward
	ParentCode string `json:"parent_code,omitempty"`
}

// Reference is an authority's reference data: its wards, the schools'
// offers (quota and catchment per level and year) and the windows.
type Reference struct {
	Authority Authority
	Wards     []Ward
	Offers    []Offer
	Windows   []Window
}
