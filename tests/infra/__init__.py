"""Offline checks of azure.yaml, infra/ and .github/workflows/."""
