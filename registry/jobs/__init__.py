"""Background work: the queue (`queue`), the handlers each kind of job runs (`handlers`), the
runner that records a job's outcome (`runner`) and the Celery worker (`celery_worker`)."""
