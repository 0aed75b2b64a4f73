//! Static checks of the deployment files. Neither docker-compose.yml nor the Dockerfile is built in
//! CI, so a renamed variable or a lost port mapping would otherwise only show up at deploy time.

use std::path::Path;

use serde_norway::Value;

fn read_repo_file(name: &str) -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(name);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()))
}

fn compose() -> Value {
    serde_norway::from_str(&read_repo_file("docker-compose.yml"))
        .unwrap_or_else(|e| panic!("docker-compose.yml is not valid YAML: {e}"))
}

fn service<'a>(compose: &'a Value, name: &str) -> &'a Value {
    compose
        .get("services")
        .and_then(|services| services.get(name))
        .unwrap_or_else(|| panic!("docker-compose.yml has no service `{name}`"))
}

/// Variable names of a service's `environment`, in either compose syntax:
/// a mapping (`KEY: value`) or a list (`- KEY=value`).
fn environment_names(service: &Value) -> Vec<String> {
    match service.get("environment") {
        Some(Value::Mapping(map)) => map
            .keys()
            .filter_map(|k| k.as_str().map(str::to_owned))
            .collect(),
        Some(Value::Sequence(list)) => list
            .iter()
            .filter_map(Value::as_str)
            .map(|entry| entry.split('=').next().unwrap_or(entry).to_owned())
            .collect(),
        _ => Vec::new(),
    }
}

#[test]
fn compose_defines_postgres_and_tessera_services() {
    let compose = compose();
    service(&compose, "postgres");
    service(&compose, "tessera");
}

#[test]
fn compose_tessera_service_image_ports_and_environment() {
    let compose = compose();
    let tessera = service(&compose, "tessera");

    assert_eq!(
        tessera.get("image").and_then(Value::as_str),
        Some("tessera:latest"),
        "tessera image"
    );

    let ports: Vec<&str> = tessera
        .get("ports")
        .and_then(Value::as_sequence)
        .map(|ports| ports.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default();
    assert!(
        ports.contains(&"8080:8080"),
        "tessera ports {ports:?} lack 8080:8080"
    );

    let names = environment_names(tessera);
    for required in [
        "TESSERA_DATABASE_URL",
        "TESSERA_ISSUER",
        "TESSERA_BIND",
        "TESSERA_MASTER_KEY",
    ] {
        assert!(
            names.iter().any(|n| n == required),
            "tessera environment {names:?} lacks {required}"
        );
    }
}

#[test]
fn dockerfile_exposes_8080_and_runs_tessera() {
    let dockerfile = read_repo_file("Dockerfile");
    let instructions: Vec<(String, &str)> = dockerfile
        .lines()
        .map(str::trim)
        .filter(|line| !line.is_empty() && !line.starts_with('#'))
        .map(|line| {
            let (instruction, args) = line.split_once(char::is_whitespace).unwrap_or((line, ""));
            (instruction.to_ascii_uppercase(), args.trim())
        })
        .collect();

    assert!(
        instructions.iter().any(|(i, args)| i == "EXPOSE"
            && args
                .split_whitespace()
                .any(|port| port == "8080" || port == "8080/tcp")),
        "Dockerfile has no EXPOSE 8080"
    );
    assert!(
        instructions
            .iter()
            .any(|(i, args)| i == "ENTRYPOINT" && args.contains("tessera")),
        "Dockerfile has no ENTRYPOINT running tessera"
    );
}
