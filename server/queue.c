/* queue.c — the blocking job queues between the loop, workers and writer. */
#include "server.h"

void
srv_queue_init(srv_queue *q)
{
	pthread_mutex_init(&q->mu, NULL);
	pthread_cond_init(&q->cv, NULL);
	q->head = q->tail = NULL;
	q->n = 0;
	q->closed = 0;
}

void
srv_queue_push(srv_queue *q, srv_job *j)
{
	j->next = NULL;
	pthread_mutex_lock(&q->mu);
	if (q->tail)
		q->tail->next = j;
	else
		q->head = j;
	q->tail = j;
	q->n++;
	pthread_cond_signal(&q->cv);
	pthread_mutex_unlock(&q->mu);
}

srv_job *
srv_queue_pop(srv_queue *q)
{
	pthread_mutex_lock(&q->mu);
	while (q->head == NULL && !q->closed)
		pthread_cond_wait(&q->cv, &q->mu);
	srv_job *j = q->head;
	if (j != NULL) {
		q->head = j->next;
		if (q->head == NULL)
			q->tail = NULL;
		q->n--;
		j->next = NULL;
	}
	pthread_mutex_unlock(&q->mu);
	return j;
}

srv_job *
srv_queue_pop_all(srv_queue *q)
{
	pthread_mutex_lock(&q->mu);
	while (q->head == NULL && !q->closed)
		pthread_cond_wait(&q->cv, &q->mu);
	srv_job *j = q->head;
	q->head = q->tail = NULL;
	q->n = 0;
	pthread_mutex_unlock(&q->mu);
	return j;
}

void
srv_queue_close(srv_queue *q)
{
	pthread_mutex_lock(&q->mu);
	q->closed = 1;
	pthread_cond_broadcast(&q->cv);
	pthread_mutex_unlock(&q->mu);
}
