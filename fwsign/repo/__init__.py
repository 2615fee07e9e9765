"""TUF repository for fwsign releases: layout, roles, delegations, bins, publish, rotation.

Entry points: :class:`~fwsign.repo.repository.Repository` (create, stage, sign,
publish, refresh, rotate, status), :func:`~fwsign.repo.releases.add_release`,
:func:`~fwsign.repo.releases.remove_target`, :func:`~fwsign.repo.releases.set_floor`,
and :func:`~fwsign.repo.serve.serve_in_thread` for a loopback HTTP server.
"""
