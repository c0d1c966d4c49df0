"""Deploy to Alibaba FC 3.0 (s.yaml, Serverless Devs) and Tencent SCF (template.yaml, serverless-cloud-framework).

    python -m scripts.deploy --dry-run           validate both templates offline: no credentials, no network
    python -m scripts.deploy fc  --stage dev     package, check, `s deploy -y`
    python -m scripts.deploy scf --stage dev     package, check, render build/scf/<stage>/*/serverless.yml, `scf deploy`

See docs/deploy.md.
"""
