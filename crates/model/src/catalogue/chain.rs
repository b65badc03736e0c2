//! The built-in chain's stores: where orders are sold and who sells them.
//!
//! 70 stores in 46 cities of all 16 voivodeships. A city's first store is named by the
//! city, the others by city and district. A store's `weight` is its share of its
//! region's orders: the city's population in thousands (2024 estimates, rounded)
//! divided among its stores. The prototype's stores whose names lacked Polish letters
//! are kept with weight 0: they sell nothing, but the orders they sold still decode
//! (the six whose names were right, Warszawa, Lublin, Katowice, Gdynia, Bydgoszcz and
//! Szczecin, keep their staff and sell on).

use super::Store;

/// The stores of region Central.
pub(super) static CENTRAL: &[Store] = &[
    Store {
        id: "Warszawa",
        city: "Warszawa",
        voivodeship: "mazowieckie",
        weight: 310.5,
        salespeople: &["Anna Kowalska", "Piotr Nowak", "Katarzyna Wisniewska"],
    },
    Store {
        id: "Warszawa Mokotów",
        city: "Warszawa",
        voivodeship: "mazowieckie",
        weight: 310.5,
        salespeople: &["Przemysław Ziółkowski", "Zofia Sadowska"],
    },
    Store {
        id: "Warszawa Targówek",
        city: "Warszawa",
        voivodeship: "mazowieckie",
        weight: 310.5,
        salespeople: &["Ewa Kołodziej", "Renata Mazurek", "Weronika Maciejewska"],
    },
    Store {
        id: "Warszawa Wola",
        city: "Warszawa",
        voivodeship: "mazowieckie",
        weight: 310.5,
        salespeople: &["Szymon Walczak", "Filip Szczepański"],
    },
    Store {
        id: "Warszawa Ursynów",
        city: "Warszawa",
        voivodeship: "mazowieckie",
        weight: 310.5,
        salespeople: &["Iwona Mazurek", "Natalia Borkowska"],
    },
    Store {
        id: "Warszawa Bemowo",
        city: "Warszawa",
        voivodeship: "mazowieckie",
        weight: 310.5,
        salespeople: &["Zbigniew Rutkowski", "Renata Kaźmierczak", "Renata Malinowska"],
    },
    Store {
        id: "Radom",
        city: "Radom",
        voivodeship: "mazowieckie",
        weight: 199.0,
        salespeople: &["Katarzyna Kamińska", "Andrzej Ziółkowski"],
    },
    Store {
        id: "Płock",
        city: "Płock",
        voivodeship: "mazowieckie",
        weight: 115.0,
        salespeople: &["Katarzyna Woźniak", "Magdalena Michalska", "Szymon Czarnecki"],
    },
    Store {
        id: "Siedlce",
        city: "Siedlce",
        voivodeship: "mazowieckie",
        weight: 77.0,
        salespeople: &["Gabriela Walczak", "Mikołaj Gajewski", "Monika Sobczak"],
    },
    Store {
        id: "Łódź",
        city: "Łódź",
        voivodeship: "łódzkie",
        weight: 218.3,
        salespeople: &["Weronika Lis", "Alicja Woźniak", "Marta Baran"],
    },
    Store {
        id: "Łódź Bałuty",
        city: "Łódź",
        voivodeship: "łódzkie",
        weight: 218.3,
        salespeople: &["Karolina Pawlak", "Ewa Kalinowska"],
    },
    Store {
        id: "Łódź Widzew",
        city: "Łódź",
        voivodeship: "łódzkie",
        weight: 218.3,
        salespeople: &["Bartosz Sikora", "Dorota Kalinowska"],
    },
    Store {
        id: "Piotrków Trybunalski",
        city: "Piotrków Trybunalski",
        voivodeship: "łódzkie",
        weight: 70.0,
        salespeople: &["Paulina Kozłowska", "Iwona Nowakowska", "Beata Adamska"],
    },
];

/// The stores of region Wschod.
pub(super) static WSCHOD: &[Store] = &[
    Store {
        id: "Lublin",
        city: "Lublin",
        voivodeship: "lubelskie",
        weight: 165.5,
        salespeople: &["Tomasz Wojcik", "Magdalena Kaminska", "Pawel Lewandowski"],
    },
    Store {
        id: "Lublin Felin",
        city: "Lublin",
        voivodeship: "lubelskie",
        weight: 165.5,
        salespeople: &["Natalia Wasilewska", "Hanna Tomaszewska"],
    },
    Store {
        id: "Zamość",
        city: "Zamość",
        voivodeship: "lubelskie",
        weight: 60.0,
        salespeople: &["Monika Wojciechowska", "Piotr Wróbel", "Mateusz Górski"],
    },
    Store {
        id: "Białystok",
        city: "Białystok",
        voivodeship: "podlaskie",
        weight: 146.0,
        salespeople: &["Grzegorz Sokołowski", "Mateusz Olszewski"],
    },
    Store {
        id: "Białystok Wysoki Stoczek",
        city: "Białystok",
        voivodeship: "podlaskie",
        weight: 146.0,
        salespeople: &["Filip Sobczak", "Alicja Kwiatkowska", "Gabriela Jakubowska"],
    },
    Store {
        id: "Łomża",
        city: "Łomża",
        voivodeship: "podlaskie",
        weight: 62.0,
        salespeople: &["Szymon Kucharski", "Ewa Andrzejewska"],
    },
    Store {
        id: "Suwałki",
        city: "Suwałki",
        voivodeship: "podlaskie",
        weight: 69.0,
        salespeople: &["Jakub Rutkowski", "Magdalena Głowacka", "Alicja Czerwińska"],
    },
    Store {
        id: "Kielce",
        city: "Kielce",
        voivodeship: "świętokrzyskie",
        weight: 93.0,
        salespeople: &["Maciej Kwiatkowski", "Weronika Jakubowska"],
    },
    Store {
        id: "Kielce Czarnów",
        city: "Kielce",
        voivodeship: "świętokrzyskie",
        weight: 93.0,
        salespeople: &["Wojciech Głowacki", "Mikołaj Jankowski", "Piotr Pietrzak"],
    },
    // The prototype's store, closed.
    Store {
        id: "Terespol",
        city: "Terespol",
        voivodeship: "lubelskie",
        weight: 0.0,
        salespeople: &["Agnieszka Zielinska", "Michal Szymanski"],
    },
    // The prototype's store, closed.
    Store {
        id: "Bialystok",
        city: "Białystok",
        voivodeship: "podlaskie",
        weight: 0.0,
        salespeople: &["Joanna Wozniak", "Krzysztof Dabrowski"],
    },
];

/// The stores of region Poludnie.
pub(super) static POLUDNIE: &[Store] = &[
    Store {
        id: "Kraków",
        city: "Kraków",
        voivodeship: "małopolskie",
        weight: 201.5,
        salespeople: &["Andrzej Czarnecki", "Paweł Wojciechowski", "Jan Przybylski"],
    },
    Store {
        id: "Kraków Czyżyny",
        city: "Kraków",
        voivodeship: "małopolskie",
        weight: 201.5,
        salespeople: &["Alicja Wasilewska", "Magdalena Wróblewska", "Grzegorz Wilk"],
    },
    Store {
        id: "Kraków Bronowice",
        city: "Kraków",
        voivodeship: "małopolskie",
        weight: 201.5,
        salespeople: &["Justyna Kubiak", "Jadwiga Mazur", "Joanna Kucharska"],
    },
    Store {
        id: "Kraków Podgórze",
        city: "Kraków",
        voivodeship: "małopolskie",
        weight: 201.5,
        salespeople: &["Maciej Kaźmierczak", "Zbigniew Jasiński"],
    },
    Store {
        id: "Tarnów",
        city: "Tarnów",
        voivodeship: "małopolskie",
        weight: 105.0,
        salespeople: &["Justyna Król", "Łucja Wysocka", "Michał Sawicki"],
    },
    Store {
        id: "Nowy Sącz",
        city: "Nowy Sącz",
        voivodeship: "małopolskie",
        weight: 83.0,
        salespeople: &["Jakub Stępień", "Adrian Andrzejewski"],
    },
    Store {
        id: "Katowice",
        city: "Katowice",
        voivodeship: "śląskie",
        weight: 143.0,
        salespeople: &["Monika Kwiatkowska", "Grzegorz Krawczyk"],
    },
    Store {
        id: "Katowice Załęże",
        city: "Katowice",
        voivodeship: "śląskie",
        weight: 143.0,
        salespeople: &["Natalia Dąbrowska", "Kacper Andrzejewski"],
    },
    Store {
        id: "Częstochowa",
        city: "Częstochowa",
        voivodeship: "śląskie",
        weight: 207.0,
        salespeople: &["Beata Rutkowska", "Łukasz Sikorski", "Jadwiga Mazurek"],
    },
    Store {
        id: "Gliwice",
        city: "Gliwice",
        voivodeship: "śląskie",
        weight: 175.0,
        salespeople: &["Hanna Andrzejewska", "Adrian Baran", "Łucja Adamska"],
    },
    Store {
        id: "Sosnowiec",
        city: "Sosnowiec",
        voivodeship: "śląskie",
        weight: 192.0,
        salespeople: &["Rafał Tomaszewski", "Alicja Krajewska", "Piotr Chmielewski"],
    },
    Store {
        id: "Bielsko-Biała",
        city: "Bielsko-Biała",
        voivodeship: "śląskie",
        weight: 167.0,
        salespeople: &["Natalia Błaszczyk", "Filip Chmielewski"],
    },
    Store {
        id: "Rybnik",
        city: "Rybnik",
        voivodeship: "śląskie",
        weight: 133.0,
        salespeople: &["Krzysztof Ziółkowski", "Patryk Woźniak"],
    },
    Store {
        id: "Opole",
        city: "Opole",
        voivodeship: "opolskie",
        weight: 126.0,
        salespeople: &["Joanna Grabowska", "Zbigniew Sikora"],
    },
    Store {
        id: "Rzeszów",
        city: "Rzeszów",
        voivodeship: "podkarpackie",
        weight: 99.0,
        salespeople: &["Weronika Baranowska", "Hanna Krajewska", "Ewa Baranowska"],
    },
    Store {
        id: "Rzeszów Drabinianka",
        city: "Rzeszów",
        voivodeship: "podkarpackie",
        weight: 99.0,
        salespeople: &["Bartosz Król", "Julia Wróblewska", "Aleksandra Krawczyk"],
    },
    Store {
        id: "Przemyśl",
        city: "Przemyśl",
        voivodeship: "podkarpackie",
        weight: 56.0,
        salespeople: &["Oliwia Kaczmarek", "Patryk Ziółkowski", "Maciej Kowalczyk"],
    },
    // The prototype's store, closed.
    Store {
        id: "Krakow",
        city: "Kraków",
        voivodeship: "małopolskie",
        weight: 0.0,
        salespeople: &["Marcin Kozlowski", "Ewa Jankowska", "Lukasz Mazur"],
    },
    // The prototype's store, closed.
    Store {
        id: "Rzeszow",
        city: "Rzeszów",
        voivodeship: "podkarpackie",
        weight: 0.0,
        salespeople: &["Aleksandra Piotrowska", "Jakub Grabowski"],
    },
    // The prototype's store, closed.
    Store {
        id: "Czestochowa",
        city: "Częstochowa",
        voivodeship: "śląskie",
        weight: 0.0,
        salespeople: &["Barbara Pawlowska", "Adam Michalski", "Natalia Krol"],
    },
];

/// The stores of region Zachod.
pub(super) static ZACHOD: &[Store] = &[
    Store {
        id: "Wrocław",
        city: "Wrocław",
        voivodeship: "dolnośląskie",
        weight: 168.5,
        salespeople: &["Marta Rutkowska", "Aleksandra Ziółkowska"],
    },
    Store {
        id: "Wrocław Krzyki",
        city: "Wrocław",
        voivodeship: "dolnośląskie",
        weight: 168.5,
        salespeople: &["Łukasz Kwiatkowski", "Maja Lewandowska", "Aleksandra Jankowska"],
    },
    Store {
        id: "Wrocław Psie Pole",
        city: "Wrocław",
        voivodeship: "dolnośląskie",
        weight: 168.5,
        salespeople: &["Piotr Kozłowski", "Jakub Zając", "Jakub Nowakowski"],
    },
    Store {
        id: "Wrocław Fabryczna",
        city: "Wrocław",
        voivodeship: "dolnośląskie",
        weight: 168.5,
        salespeople: &["Dawid Kołodziej", "Gabriela Górska"],
    },
    Store {
        id: "Wałbrzych",
        city: "Wałbrzych",
        voivodeship: "dolnośląskie",
        weight: 108.0,
        salespeople: &["Anna Laskowska", "Anna Mazur", "Joanna Szulc"],
    },
    Store {
        id: "Legnica",
        city: "Legnica",
        voivodeship: "dolnośląskie",
        weight: 98.0,
        salespeople: &["Ewa Sikora", "Gabriela Adamska"],
    },
    Store {
        id: "Jelenia Góra",
        city: "Jelenia Góra",
        voivodeship: "dolnośląskie",
        weight: 77.0,
        salespeople: &["Agnieszka Chmielewska", "Hubert Rutkowski", "Maciej Kubiak"],
    },
    Store {
        id: "Poznań",
        city: "Poznań",
        voivodeship: "wielkopolskie",
        weight: 180.3,
        salespeople: &["Łukasz Lewandowski", "Marta Sikora"],
    },
    Store {
        id: "Poznań Jeżyce",
        city: "Poznań",
        voivodeship: "wielkopolskie",
        weight: 180.3,
        salespeople: &["Joanna Sikorska", "Paulina Malinowska", "Kacper Walczak"],
    },
    Store {
        id: "Poznań Grunwald",
        city: "Poznań",
        voivodeship: "wielkopolskie",
        weight: 180.3,
        salespeople: &["Zofia Mazur", "Krzysztof Gajewski"],
    },
    Store {
        id: "Kalisz",
        city: "Kalisz",
        voivodeship: "wielkopolskie",
        weight: 97.0,
        salespeople: &["Jan Rutkowski", "Tomasz Szymański", "Iwona Sadowska"],
    },
    Store {
        id: "Konin",
        city: "Konin",
        voivodeship: "wielkopolskie",
        weight: 70.0,
        salespeople: &["Jakub Andrzejewski", "Monika Kozłowska"],
    },
    Store {
        id: "Piła",
        city: "Piła",
        voivodeship: "wielkopolskie",
        weight: 71.0,
        salespeople: &["Jakub Kwiatkowski", "Hanna Laskowska"],
    },
    Store {
        id: "Zielona Góra",
        city: "Zielona Góra",
        voivodeship: "lubuskie",
        weight: 140.0,
        salespeople: &["Mateusz Cieślak", "Karol Kaźmierczak", "Joanna Makowska"],
    },
    Store {
        id: "Gorzów Wielkopolski",
        city: "Gorzów Wielkopolski",
        voivodeship: "lubuskie",
        weight: 120.0,
        salespeople: &["Joanna Zając", "Zuzanna Laskowska", "Justyna Zając"],
    },
    // The prototype's store, closed.
    Store {
        id: "Wroclaw",
        city: "Wrocław",
        voivodeship: "dolnośląskie",
        weight: 0.0,
        salespeople: &["Marek Wieczorek", "Dorota Jablonska", "Bartosz Majewski"],
    },
    // The prototype's store, closed.
    Store {
        id: "Poznan",
        city: "Poznań",
        voivodeship: "wielkopolskie",
        weight: 0.0,
        salespeople: &["Karolina Olszewska", "Rafal Stepien"],
    },
];

/// The stores of region Polnoc.
pub(super) static POLNOC: &[Store] = &[
    Store {
        id: "Gdańsk",
        city: "Gdańsk",
        voivodeship: "pomorskie",
        weight: 162.0,
        salespeople: &["Gabriela Ostrowska", "Łucja Czarnecka"],
    },
    Store {
        id: "Gdańsk Wrzeszcz",
        city: "Gdańsk",
        voivodeship: "pomorskie",
        weight: 162.0,
        salespeople: &["Alicja Zielińska", "Agnieszka Malinowska", "Magdalena Rutkowska"],
    },
    Store {
        id: "Gdańsk Przymorze",
        city: "Gdańsk",
        voivodeship: "pomorskie",
        weight: 162.0,
        salespeople: &["Paulina Kalinowska", "Iwona Sikorska", "Mateusz Laskowski"],
    },
    Store {
        id: "Gdynia",
        city: "Gdynia",
        voivodeship: "pomorskie",
        weight: 245.0,
        salespeople: &["Sebastian Witkowski", "Beata Walczak"],
    },
    Store {
        id: "Słupsk",
        city: "Słupsk",
        voivodeship: "pomorskie",
        weight: 89.0,
        salespeople: &["Andrzej Nowak", "Oliwia Wasilewska", "Alicja Mazur"],
    },
    Store {
        id: "Bydgoszcz",
        city: "Bydgoszcz",
        voivodeship: "kujawsko-pomorskie",
        weight: 165.0,
        salespeople: &["Wojciech Sikora", "Renata Baran"],
    },
    Store {
        id: "Bydgoszcz Fordon",
        city: "Bydgoszcz",
        voivodeship: "kujawsko-pomorskie",
        weight: 165.0,
        salespeople: &["Paweł Witkowski", "Agnieszka Michalak", "Zofia Kowalczyk"],
    },
    Store {
        id: "Toruń",
        city: "Toruń",
        voivodeship: "kujawsko-pomorskie",
        weight: 196.0,
        salespeople: &["Karol Sikorski", "Kacper Borkowski", "Damian Chmielewski"],
    },
    Store {
        id: "Włocławek",
        city: "Włocławek",
        voivodeship: "kujawsko-pomorskie",
        weight: 105.0,
        salespeople: &["Katarzyna Krawczyk", "Iwona Zalewska", "Paweł Lewandowski"],
    },
    Store {
        id: "Grudziądz",
        city: "Grudziądz",
        voivodeship: "kujawsko-pomorskie",
        weight: 92.0,
        salespeople: &["Jan Chmielewski", "Damian Laskowski", "Kamil Ziółkowski"],
    },
    Store {
        id: "Szczecin",
        city: "Szczecin",
        voivodeship: "zachodniopomorskie",
        weight: 195.5,
        salespeople: &["Robert Pietrzak", "Elzbieta Wrobel", "Kamil Adamczyk"],
    },
    Store {
        id: "Szczecin Gumieńce",
        city: "Szczecin",
        voivodeship: "zachodniopomorskie",
        weight: 195.5,
        salespeople: &["Magdalena Czerwińska", "Przemysław Woźniak", "Dawid Szewczyk"],
    },
    Store {
        id: "Koszalin",
        city: "Koszalin",
        voivodeship: "zachodniopomorskie",
        weight: 106.0,
        salespeople: &["Filip Kaźmierczak", "Elżbieta Ziółkowska"],
    },
    Store {
        id: "Olsztyn",
        city: "Olsztyn",
        voivodeship: "warmińsko-mazurskie",
        weight: 171.0,
        salespeople: &["Maja Witkowska", "Dawid Ostrowski"],
    },
    Store {
        id: "Elbląg",
        city: "Elbląg",
        voivodeship: "warmińsko-mazurskie",
        weight: 118.0,
        salespeople: &["Hanna Pawlak", "Justyna Pawlak", "Renata Wieczorek"],
    },
    Store {
        id: "Ełk",
        city: "Ełk",
        voivodeship: "warmińsko-mazurskie",
        weight: 61.0,
        salespeople: &["Paweł Ziółkowski", "Grzegorz Wysocki", "Przemysław Dąbrowski"],
    },
    // The prototype's store, closed.
    Store {
        id: "Gdansk",
        city: "Gdańsk",
        voivodeship: "pomorskie",
        weight: 0.0,
        salespeople: &["Zofia Malinowska", "Dariusz Gorski", "Iwona Rutkowska"],
    },
    // The prototype's store, closed.
    Store {
        id: "Sopot",
        city: "Sopot",
        voivodeship: "pomorskie",
        weight: 0.0,
        salespeople: &["Hubert Zalewski", "Marta Szczepanska"],
    },
];
