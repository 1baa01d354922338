//! Reproducibility: the same seed gives the same bits on 1, 2 and 4 threads, another seed
//! differs, and a path does not depend on how many paths run.

use tokencomp_risk::{Bootstrap, Gbm, Merton, Model, Simulation};

fn models() -> Vec<Model> {
    let closes: Vec<f64> = (0..100).map(|i| 10.0 + f64::from(i % 7) - f64::from(i % 3) * 0.5).collect();
    vec![
        Model::Gbm(Gbm::new(0.1, 0.9).unwrap()),
        Model::Merton(Merton::new(0.05, 0.5, 3.0, -0.1, 0.2).unwrap()),
        Model::Bootstrap(Bootstrap::from_closes(&closes, 4).unwrap()),
    ]
}

fn bits(xs: &[f64]) -> Vec<u64> {
    xs.iter().map(|x| x.to_bits()).collect()
}

fn run_in(threads: usize, sim: &Simulation) -> Vec<u64> {
    let pool = rayon::ThreadPoolBuilder::new().num_threads(threads).build().unwrap();
    pool.install(|| bits(&sim.matrix()))
}

#[test]
fn same_seed_same_bits_with_1_2_and_4_threads() {
    // 5,000 paths span ten chunks, so the pools really split the work differently.
    let times = vec![0.0, 1.0 / 12.0, 0.25, 0.25, 1.0, 2.5];
    for model in models() {
        let sim = Simulation::new(model, 3.0, times.clone(), 5_000, 42).unwrap();
        let one = run_in(1, &sim);
        assert_eq!(one, run_in(2, &sim));
        assert_eq!(one, run_in(4, &sim));
        let other = Simulation::new(sim.model().clone(), 3.0, times.clone(), 5_000, 43).unwrap();
        assert_ne!(one, run_in(2, &other), "different seeds must differ");
        // A path does not depend on how many paths run: the first 100 of 100 equal those of 5,000.
        let few = Simulation::new(sim.model().clone(), 3.0, times.clone(), 100, 42).unwrap();
        assert_eq!(run_in(2, &few), one[..100 * times.len()]);
    }
}
